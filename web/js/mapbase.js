/*
 * mapbase.js — Leaflet maps without any online tile server.
 *
 * The base layer is the county outlines from /api/v1/map/boundaries, filled
 * lightly and labelled with the county names; every map in the UI (the one
 * map, the record detail map, the form's point picker) starts from here.
 * Leaflet is loaded as the global L by index.html (web/vendor/leaflet).
 */
import { boundaries } from './session.js';

/* Jincheng city centre, used only when no outline is available. */
const FALLBACK_CENTER = [35.49, 112.85];

/**
 * Create a map in el with the county outlines as base layer.
 * Returns {map, base} once the outlines are drawn (base may be null when
 * the server has no outlines for the caller's region).
 */
export async function createBaseMap(el, opts = {}) {
  const map = L.map(el, {
    attributionControl: false,
    zoomSnap: 0.25,
    ...opts.mapOptions,
  });
  // Leaflet throws from pending animation frames once a map is removed;
  // pages remove maps on navigation, so never animate view changes here
  // and remember removal for settle().
  map.on('unload', () => { map.yjRemoved = true; });
  map.setView(FALLBACK_CENTER, 9, { animate: false });
  const gj = await boundaries();
  let base = null;
  if (gj && Array.isArray(gj.features) && gj.features.length) {
    base = L.geoJSON(gj, {
      style: () => ({ color: '#4a6fa5', weight: 1.5, fillColor: '#eef3fa', fillOpacity: 0.75 }),
      interactive: opts.labels !== false,
      onEachFeature: (f, layer) => {
        const name = f.properties && f.properties.name;
        if (name && opts.labels !== false) {
          layer.bindTooltip(name, { permanent: true, direction: 'center', className: 'county-label', interactive: false });
        }
      },
    }).addTo(map);
    map.fitBounds(base.getBounds(), { padding: [10, 10], animate: false });
  }
  return { map, base };
}

/** Re-measure the map after its container changed size (e.g. became visible). */
export function settle(map) {
  const fix = () => { if (!map.yjRemoved) map.invalidateSize({ animate: false }); };
  requestAnimationFrame(fix);
  setTimeout(fix, 200);
}
