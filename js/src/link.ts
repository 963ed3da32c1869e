/**
 * One socket driven by a wasm state machine (a consumer session or a publisher): this file
 * owns the I/O they ask for: opening the socket with fresh credentials, the handshake
 * timeout, the one timer, reconnecting, and the connection's events and logs. What the
 * frames mean is the wasm's (src/client/session.rs, publisher.rs, link.rs).
 */

import type { CredentialSource } from "./credentials.js";
import { errorFor, IsmldError, InvalidRequestError } from "./errors.js";
import type { Logger } from "./logger.js";
import type { Transport } from "./transport.js";
import type { ConnectionEvents, WebSocketLike } from "./types.js";

/** What a state machine asks its driver to do (see src/client/action.rs). */
export type Action =
  | { do: "send"; frame: string }
  | { do: "welcome"; session: string; heartbeat_ms: number; partition: number; partitions: number }
  | {
      do: "deliver";
      id: string;
      seq: number;
      partition: number;
      attempt: number;
      failures: number;
      deadline: number;
      reply: boolean;
      checkpoint: unknown;
      event: Record<string, unknown>;
    }
  | { do: "answer"; ref: number; ok: boolean; code?: string; message?: string; deadline?: number }
  | { do: "published"; ref: number; id: string; seq: number; partition: number; duplicate: boolean }
  | { do: "connect" }
  | { do: "abort"; ids: string[] }
  | { do: "error"; code: string; message: string }
  | { do: "close"; code: number; reason: string }
  | { do: "reconnect"; after_ms: number }
  | { do: "fatal"; code: string; message: string };

/** The calls both wasm state machines take. */
export interface Core {
  setToken(token?: string): void;
  opened(now: number): string;
  received(now: number, text: string): string;
  closed(code: number, reason: string, random: number): string;
  timer(now: number): string;
  nextTimer(now: number): number | undefined;
}

/** @internal Everything a socket needs from its connection. */
export interface LinkContext {
  transport: Transport;
  credentials: CredentialSource;
  emit<K extends keyof ConnectionEvents>(type: K, event: ConnectionEvents[K]): void;
  logger: Logger;
  connectTimeout: number;
  /** Session settings for the wasm (snake_case). */
  settings: Record<string, unknown>;
}

/** Where a socket stands. */
export type LinkState = "idle" | "connecting" | "connected" | "disconnected" | "stopped";

/** A socket and its state machine. Subclasses say how to open it and handle their own actions. */
export abstract class Link {
  protected core: Core | undefined;
  protected ws: WebSocketLike | undefined;
  protected linkState: LinkState = "idle";
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When `timer` fires (ms since the epoch). */
  private timerAt: number | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  private attempts = 0;
  private closeInfo = { code: 1006, reason: "" };
  /** The next reconnect waits for this (finding out why the socket failed). */
  private hold: Promise<unknown> | undefined;

  constructor(
    protected readonly ctx: LinkContext,
    /** `{channel}@{topic}` (wire names), or `@{topic}` for a publisher socket. */
    readonly fullChannelName: string,
    /** The partition this socket is opened for (`?partition=P`); none on a topic of one. */
    readonly partition?: number,
  ) {}

  /** What the connection's events say about this socket. */
  protected get about(): { subscription: string; partition?: number } {
    return this.partition === undefined ? { subscription: this.fullChannelName } : { subscription: this.fullChannelName, partition: this.partition };
  }

  /** Opens the socket. */
  protected abstract open(): WebSocketLike;
  /** Actions only this kind of socket has. */
  protected abstract handle(a: Action): void;
  /** The session stopped for good (a final close, refused settings). */
  protected abstract failed(error: IsmldError): void;
  /** The socket was welcomed (the `welcome` says its partition and the topic's count). */
  protected welcomed(_welcome: { partition: number; partitions: number }): void {}
  /**
   * The socket failed before it opened: the upgrade was refused (a partitioned topic
   * answers `409` to a socket without `?partition`, which no WebSocket API shows: the
   * socket just fails) or the bus is unreachable. It reconnects as usual; a subclass may
   * find out which it was, and return a promise the reconnect waits for.
   */
  protected openFailed(): Promise<unknown> | undefined {
    return undefined;
  }

  /** Opens a socket with fresh credentials (a token provider is called every time). */
  protected connect(): void {
    if (this.linkState === "stopped" || !this.core) return;
    this.attempts += 1;
    this.linkState = "connecting";
    this.ctx.emit("connecting", { ...this.about, attempt: this.attempts });
    this.ctx.logger.debug("ismld: connecting", { ...this.about, attempt: this.attempts });
    void this.ctx.credentials.hello().then(
      (h) => this.dial(h["token"] as string | undefined),
      (e: unknown) => {
        // A provider that fails (its own server down?) is retried like a lost connection.
        const error = e instanceof IsmldError ? e : errorFor("unauthorized", String(e));
        this.ctx.logger.warn("ismld: the token provider failed", { ...this.about, message: error.message });
        this.ctx.emit("error", { ...this.about, error });
        if (this.linkState !== "stopped") this.lost(1006, error.message);
      },
    );
  }

  private dial(token: string | undefined): void {
    if (this.linkState === "stopped" || !this.core) return;
    if (token !== undefined) this.core.setToken(token);
    let ws: WebSocketLike;
    try {
      ws = this.open();
    } catch (e) {
      this.failed(e instanceof IsmldError ? e : new InvalidRequestError("invalid_request", String(e)));
      return;
    }
    this.ws = ws;
    // A socket that neither opens nor fails (a runtime half up) must not stall: drop it.
    this.clearHandshake();
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = undefined;
      if (this.ws !== ws) return;
      this.ws = undefined;
      try {
        ws.close(4000, "handshake timeout");
      } catch {
        /* not open yet */
      }
      this.lost(1006, "handshake timeout");
    }, this.ctx.connectTimeout);
    let opened = false;
    const failedToOpen = (code = 1006, reason = "") => {
      if (this.ws !== ws || opened) return false;
      this.ws = undefined;
      this.lost(code, reason || "the socket did not open");
      const finding = this.linkState !== "stopped" ? this.openFailed() : undefined;
      if (finding) {
        const hold = finding.then(
          () => undefined,
          () => undefined,
        );
        this.hold = hold;
        void hold.then(() => {
          if (this.hold === hold) this.hold = undefined;
        });
      }
      return true;
    };
    ws.onopen = () => {
      opened = true;
      if (this.ws === ws && this.core) this.perform(this.core.opened(Date.now()));
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws || !this.core) return;
      const text = typeof ev.data === "string" ? ev.data : new TextDecoder().decode(ev.data as ArrayBuffer);
      this.perform(this.core.received(Date.now(), text));
    };
    ws.onerror = () => {
      // After the open a close event follows. Before it, Node 22's WebSocket (undici)
      // fires only this on a refused upgrade and stays CONNECTING: treat it as the close.
      if (!failedToOpen() || ws.readyState !== 0) return;
      try {
        ws.close();
      } catch {
        /* it failed already */
      }
    };
    ws.onclose = (ev) => {
      if (failedToOpen(ev.code, ev.reason ?? "")) return;
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.lost(ev.code, ev.reason ?? "");
    };
  }

  private lost(code: number, reason: string): void {
    this.clearHandshake();
    this.closeInfo = { code, reason };
    if (this.core) this.perform(this.core.closed(code, reason, Math.random()));
  }

  private clearHandshake(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }

  /** Stops timers and forgets the socket (after the state machine's `stop`). */
  protected halt(): void {
    this.linkState = "stopped";
    this.clearHandshake();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.clearTimer();
    this.reconnectTimer = undefined;
  }

  /** Does what the state machine asks, then sets its timer. */
  protected perform(input: string | Action[]): void {
    const actions = typeof input === "string" ? (JSON.parse(input) as Action[]) : input;
    for (const a of actions) {
      switch (a.do) {
        case "send":
          try {
            this.ws?.send(a.frame);
          } catch {
            /* closing: the close event settles what is pending */
          }
          break;
        case "welcome":
          this.clearHandshake();
          this.linkState = "connected";
          this.ctx.emit("connected", { ...this.about, session: a.session });
          this.ctx.logger.info("ismld: connected", { ...this.about, session: a.session });
          this.welcomed(a);
          break;
        case "error":
          this.ctx.logger.warn("ismld: the bus refused a frame", { ...this.about, code: a.code, message: a.message });
          this.ctx.emit("error", { ...this.about, error: errorFor(a.code, a.message) });
          break;
        case "close": {
          const ws = this.ws;
          this.ws = undefined;
          this.clearHandshake();
          try {
            ws?.close(a.code, a.reason);
          } catch {
            /* already closing */
          }
          if (this.linkState !== "stopped") this.linkState = "idle";
          break;
        }
        case "reconnect":
          this.linkState = "disconnected";
          this.ctx.emit("disconnected", { ...this.about, ...this.closeInfo, reconnectInMs: a.after_ms });
          this.ctx.logger.warn("ismld: disconnected", { ...this.about, ...this.closeInfo, reconnectInMs: a.after_ms });
          this.reconnectTimer = setTimeout(() => {
            this.reconnectTimer = undefined;
            if (this.hold) void this.hold.then(() => this.connect());
            else this.connect();
          }, a.after_ms);
          break;
        case "connect":
          this.connect();
          break;
        case "fatal": {
          const error = errorFor(a.code, a.message || `closed (${this.closeInfo.code})`);
          this.ctx.logger.error("ismld: stopped for good", { ...this.about, code: a.code, message: a.message });
          this.clearHandshake();
          this.failed(error);
          break;
        }
        default:
          this.handle(a);
      }
    }
    this.schedule();
  }

  /**
   * Sets the state machine's timer. A timer already set for the same time or earlier is
   * kept: re-arming it on every call would starve it when calls come faster than a timer
   * can fire (a publish every millisecond would never see its linger end). One that fires
   * early finds nothing due and sets the next.
   */
  private schedule(): void {
    if (this.linkState === "stopped" || !this.core) return this.clearTimer();
    const now = Date.now();
    const at = this.core.nextTimer(now);
    if (at === undefined) return this.clearTimer();
    if (this.timer && this.timerAt !== undefined && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = this.timerAt = undefined;
      if (this.core) this.perform(this.core.timer(Date.now()));
    }, Math.max(0, at - now));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = this.timerAt = undefined;
  }
}
