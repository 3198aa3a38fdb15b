/*
 * modules.js — the modules' pages in the shell.
 *
 * GET /api/v1/me lists the pages every module declares (its descriptor's
 * `pages`: a hash prefix and a script under m/<module>/).  The shell loads
 * them once per login; #/<prefix>/... renders with the script's
 * render(view, ctx, parts).  A script may also export hooks the shell and
 * other modules' pages call without knowing who provides them:
 *
 *   mapLayer(map, ctx)                 a layer of the one map ({row, load(),
 *                                      replaces: [registry names it draws]})
 *   decorateRegistryPage(view, reg, id)  after a registry list or record page
 *   alarmActions(alarmId)              buttons on an alarm's page
 */
let loaded = []; // [{module, prefix, script, mod}]

/** Load every page script (once per login). */
export async function loadModules(pages) {
  loaded = await Promise.all((pages || []).map(async (p) => ({ ...p, mod: await import(`../${p.script}`) })));
}

/** The page script serving #/<prefix>/..., or null. */
export function pageFor(prefix) {
  const p = loaded.find((x) => x.prefix === prefix);
  return p ? p.mod : null;
}

/** Every loaded module's function exported as `name`. */
export function hooks(name) {
  return loaded.map((p) => p.mod[name]).filter((f) => typeof f === 'function');
}

export function resetModules() { loaded = []; }
