// The HTTP API as the admin: the token (this tab's sessionStorage only, sent as
// `Authorization: Bearer`), one call helper that turns the contract's error body
// `{"error": {"code", "message"}}` into an ApiError, and the paths of the resources.

const TOKEN_KEY = "ismld-admin-token";

export const session = {
  token: sessionStorage.getItem(TOKEN_KEY),
  /** Called when the API answers 401 (the token was refused or revoked). */
  onUnauthorized: () => {},
};

export function setToken(token) {
  session.token = token;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** A refusal of the API (or a network failure: status 0). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  /** "not_found: no channel x (HTTP 404)" */
  describe() {
    if (!this.status) return this.message;
    return `${this.code ? `${this.code}: ` : ""}${this.message} (HTTP ${this.status})`;
  }
}

/** Calls the API; answers the parsed JSON body (undefined for 204), throws an ApiError. */
export async function api(method, path, body, { token = session.token } = {}) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, "network", `the server did not answer (${e.message})`);
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = new ApiError(res.status, json?.error?.code, json?.error?.message ?? (text.slice(0, 200) || res.statusText));
    if (res.status === 401 && token === session.token) session.onUnauthorized(err);
    throw err;
  }
  return json;
}

const enc = encodeURIComponent;
export const topicPath = (t) => `/v1/topics/${enc(t)}`;
export const channelPath = (t, c) => `${topicPath(t)}/channels/${enc(c)}`;
export const clientPath = (login) => `/v1/clients/${enc(login)}`;

/** Errors are shown as text; anything else thrown (a bug) keeps its message. */
export function describe(e) {
  return e instanceof ApiError ? e.describe() : String(e?.message ?? e);
}
