/**
 * Who the client is, for HTTP (`Authorization`) and for sockets (`hello`). A token may come
 * from a provider function: it is called at every (re)connect of a socket, and again when
 * the bus answers 401 or closes a socket with 4001 (one retry; a second refusal in a row is
 * final). HTTP calls use the latest token and retry once after a 401.
 */

import { fromWasm, UnauthorizedError } from "./errors.js";
import type { Credentials } from "./types.js";

function toBase64(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** The credentials of one connection. */
export class CredentialSource {
  private token: string | undefined;
  private asking: Promise<string> | undefined;

  constructor(private readonly creds: Credentials | undefined) {
    if (creds && "token" in creds && typeof creds.token === "string") this.token = creds.token;
  }

  /** Whether the token comes from a provider (a first 4001 is then retried). */
  get refreshable(): boolean {
    return !!this.creds && "token" in this.creds && typeof this.creds.token === "function";
  }

  /** `clientId`, if any. */
  get clientId(): string | undefined {
    return this.creds?.clientId;
  }

  /** Login and secret, when those are the credentials. */
  get basic(): { login: string; secret: string } | undefined {
    return this.creds && "login" in this.creds ? this.creds : undefined;
  }

  /** Asks the provider for a token now (once at a time), or answers the static one. */
  async fresh(): Promise<string | undefined> {
    const c = this.creds;
    if (!c || !("token" in c)) return undefined;
    if (typeof c.token === "string") return c.token;
    const provider = c.token;
    this.asking ??= (async () => {
      try {
        const t = await provider();
        if (typeof t !== "string" || !t) throw new UnauthorizedError("unauthorized", "the token provider gave no token");
        this.token = t;
        return t;
      } catch (e) {
        throw e instanceof UnauthorizedError ? e : new UnauthorizedError("unauthorized", `the token provider failed: ${fromWasm(e).message}`);
      } finally {
        this.asking = undefined;
      }
    })();
    return this.asking;
  }

  /** The token in force (asking the provider the first time). */
  async current(): Promise<string | undefined> {
    return this.token ?? (await this.fresh());
  }

  /** The `Authorization` header for HTTP. */
  async header(refresh = false): Promise<string | undefined> {
    const b = this.basic;
    if (b) return `Basic ${toBase64(`${b.login}:${b.secret}`)}`;
    const t = refresh ? await this.fresh() : await this.current();
    return t === undefined ? undefined : `Bearer ${t}`;
  }

  /** The credential fields of a socket's session settings (`hello`). */
  async hello(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    const b = this.basic;
    if (b) {
      out["login"] = b.login;
      out["secret"] = b.secret;
    } else {
      const t = await this.fresh();
      if (t !== undefined) out["token"] = t;
    }
    if (this.clientId) out["client_id"] = this.clientId;
    out["refresh"] = this.refreshable;
    return out;
  }
}
