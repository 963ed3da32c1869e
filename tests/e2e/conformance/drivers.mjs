// The two drivers the conformance rules run against, behind one small interface (see
// rules.mjs): the Worker in workerd (real HTTP, real WebSockets with the `ws` package)
// and the in-process memory:// bus (the same broker over its in-memory store).
import { call, Socket } from "../harness.mjs";

/** An inbox over any WebSocket-like object: frames kept in order, waited for by predicate. */
class Inbox {
  constructor() {
    this.frames = [];
    this.waiters = [];
    this.closed = null;
    this.refs = 0;
  }
  push(frame) {
    this.frames.push(frame);
    this.wake();
  }
  close(code) {
    this.closed = { code };
    this.wake();
  }
  wake() {
    for (const w of [...this.waiters]) w();
  }
  next(pred = () => true, timeoutMs = 20_000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.frames.findIndex(pred);
        if (i >= 0) {
          done();
          resolve(this.frames.splice(i, 1)[0]);
        } else if (this.closed) {
          done();
          reject(new Error(`socket closed (${this.closed.code}) while waiting`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching frame within ${timeoutMs} ms; have ${JSON.stringify(this.frames)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      this.waiters.push(check);
      check();
    });
  }
}

/** Socket methods the rules use, over `send(text)`, an inbox and a way to close. */
function consumerApi(inbox, send, close) {
  const api = {
    send: (f) => send(typeof f === "string" ? f : JSON.stringify(f)),
    next: (pred, t) => inbox.next(pred, t),
    msg: (t) => inbox.next((f) => f.op === "msg", t),
    async request(frame) {
      const ref = `c${++inbox.refs}`;
      api.send({ ...frame, ref });
      return inbox.next((f) => (f.op === "ok" || f.op === "error") && f.ref === ref);
    },
    async barrier() {
      const ref = `b${++inbox.refs}`;
      api.send({ op: "barrier", ref });
      await inbox.next((f) => f.op === "error" && f.ref === ref);
      const held = [];
      for (const f of inbox.frames) {
        if (f.op === "msg") held.push(f);
        if (f.op === "msgs") held.push(...f.messages);
      }
      inbox.frames = inbox.frames.filter((f) => f.op !== "msg" && f.op !== "msgs");
      return held;
    },
    close,
    async closedWith(timeoutMs = 10_000) {
      const start = Date.now();
      while (!inbox.closed && Date.now() - start < timeoutMs) await new Promise((r) => setTimeout(r, 10));
      return inbox.closed;
    },
  };
  return api;
}

async function hello(api, inbox, h) {
  api.send({ op: "hello", ...h });
  const welcome = await inbox.next((f) => f.op === "welcome" || f.op === "error");
  if (welcome.op !== "welcome") throw new Error(`hello refused: ${JSON.stringify(welcome)}`);
  api.welcome = welcome;
  return api;
}

function query(q = {}) {
  const s = new URLSearchParams(q).toString();
  return s ? `?${s}` : "";
}

/** The Worker at `url`. */
export function workerDriver(url) {
  return {
    name: "worker",
    async http(method, path, { body, raw, contentType, query: q } = {}) {
      const headers = {};
      if (contentType) headers["content-type"] = contentType;
      const r = await call(url, method, path + query(q), { body, raw, headers });
      return { status: r.status, body: r.body };
    },
    async consumer(topic, channel, h) {
      const s = new Socket(url, `/v1/topics/${encodeURIComponent(topic)}/channels/${encodeURIComponent(channel)}/ws`);
      await s.opened;
      const inbox = new Inbox();
      s.ws.on("message", (d) => inbox.push(JSON.parse(d.toString())));
      s.ws.on("close", (code) => inbox.close(code));
      const api = consumerApi(inbox, (t) => s.ws.send(t), () => s.close());
      return hello(api, inbox, h);
    },
  };
}

/** A fresh memory:// bus (`hub` from the package's memory entry). */
export function memoryDriver(hub) {
  return {
    name: "memory",
    async http(method, path, { body, raw, contentType, query: q = {} } = {}) {
      const text = raw ?? (body === undefined ? "" : JSON.stringify(body));
      const ct = contentType ?? (body === undefined ? undefined : "application/json");
      try {
        const out = await hub.http(method, path, q, ct, text);
        return { status: hub.lastStatus, body: out ? JSON.parse(out) : undefined };
      } catch (e) {
        return { status: e.status, body: { error: { code: e.code, message: e.message } } };
      }
    },
    async consumer(topic, channel, h) {
      const ws = hub.socket(topic, channel);
      const inbox = new Inbox();
      await new Promise((resolve) => (ws.onopen = resolve));
      ws.onmessage = (ev) => inbox.push(JSON.parse(ev.data));
      ws.onclose = (ev) => inbox.close(ev.code);
      const api = consumerApi(inbox, (t) => ws.send(t), () => ws.close());
      return hello(api, inbox, h);
    },
  };
}
