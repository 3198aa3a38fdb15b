/*
 * api.js — the one place that talks HTTP to the yingji server (docs/api.md).
 *
 * Authentication rides on the HttpOnly session cookie; the CSRF token from
 * /login or /me is kept in memory only and sent as X-CSRF-Token on every
 * write.  Every non-2xx answer becomes an ApiError carrying the server's
 * error code, message and field, so pages can show it next to the field it
 * names.  All URLs are relative so the UI works behind a path prefix.
 */

const BASE = 'api/v1/';

let csrfToken = null;
let onUnauthenticated = null;

export function setCsrf(token) { csrfToken = token || null; }

/** Called (once per 401 on a non-login request) so the app can show the login page. */
export function setUnauthenticatedHandler(fn) { onUnauthenticated = fn; }

/* Fallback texts when the server sends no message. */
const FALLBACK = {
  malformed: '请求格式错误',
  invalid: '数据校验未通过',
  unauthenticated: '未登录或登录已过期，请重新登录',
  forbidden: '没有权限执行此操作',
  not_found: '记录不存在或不在您的管辖范围内',
  method_not_allowed: '不支持的请求方法',
  conflict: '唯一标识已被其他记录使用',
  stale_version: '该记录已被他人修改，请刷新后重试',
  too_large: '提交的内容过大',
  unsupported_media_type: '不支持的内容类型',
  if_match_required: '缺少版本号，请刷新后重试',
  locked: '登录失败次数过多，账户已临时锁定',
  network: '无法连接服务器，请检查网络',
};

/*
 * The text shown to users: the server's message when it is Chinese (e.g.
 * validation: 「场所类别」是必填项); otherwise the Chinese text for the error
 * code with the server's own words kept in brackets, so nothing is hidden.
 */
function userText(status, code, message) {
  if (message && /[\u3400-\u9fff]/.test(message)) return message;
  const zh = FALLBACK[code] || `请求失败（HTTP ${status}）`;
  return message ? `${zh}（${message}）` : zh;
}

export class ApiError extends Error {
  constructor(status, code, message, field, body, headers) {
    super(userText(status, code, message));
    this.serverMessage = message || '';
    this.status = status;
    this.code = code || '';
    this.field = field || '';
    this.body = body;       // parsed JSON body, e.g. the import report under .report
    this.headers = headers; // Headers, e.g. Retry-After on 429
  }
}

/** Absolute-free URL of an API path plus query parameters (object or URLSearchParams). */
export function apiUrl(path, params) {
  let url = BASE + path.replace(/^\//, '');
  if (params) {
    const qs = params instanceof URLSearchParams ? params : new URLSearchParams(
      Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ''));
    const s = qs.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  return url;
}

/**
 * Make a request.  opts: method, params, json (body object), body (raw),
 * contentType, headers, silent401 (do not trigger the login page).
 * Resolves to {status, data, headers, etag}; rejects with ApiError.
 */
export async function request(path, opts = {}) {
  const method = (opts.method || 'GET').toUpperCase();
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  let body = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['Content-Type'] = 'application/json';
  } else if (opts.contentType) {
    headers['Content-Type'] = opts.contentType;
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;

  let res;
  try {
    res = await fetch(apiUrl(path, opts.params), { method, headers, body, credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, 'network', FALLBACK.network + (e && e.message ? `（${e.message}）` : ''));
  }
  let data = null;
  const text = res.status === 204 ? '' : await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!res.ok) {
    const err = data && typeof data === 'object' && data.error ? data.error : {};
    const e = new ApiError(res.status, err.code || statusCode(res.status), err.message,
      err.field, data, res.headers);
    if (res.status === 412) e.message = FALLBACK.stale_version;
    if (res.status === 401 && !opts.silent401 && onUnauthenticated) onUnauthenticated(e);
    throw e;
  }
  return { status: res.status, data, headers: res.headers, etag: res.headers.get('ETag') };
}

function statusCode(status) {
  return ({ 400: 'malformed', 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found',
    405: 'method_not_allowed', 409: 'conflict', 412: 'stale_version', 413: 'too_large',
    415: 'unsupported_media_type', 422: 'invalid', 428: 'if_match_required', 429: 'locked' })[status] || '';
}

/** GET returning the JSON body. */
export async function get(path, params) {
  return (await request(path, { params })).data;
}

/** The value for If-Match: the record's version as a quoted entity tag. */
export function ifMatch(version) { return `"${version}"`; }

/** Text of an error suitable for a message box (adds the lock time on 429). */
export function errorText(e) {
  if (!(e instanceof ApiError)) return (e && e.message) || String(e);
  if (e.status === 429) {
    const after = e.headers && e.headers.get('Retry-After');
    return after ? `${FALLBACK.locked}，请 ${after} 秒后重试` : FALLBACK.locked;
  }
  return e.message;
}
