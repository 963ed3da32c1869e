// The baseline: the least work a Durable Object can do for ismld's job, in plain
// JavaScript, to measure the runtime's practical limit next to ismld in the same run.
// One object per topic; SQLite rows for events and their per-channel deliveries; the
// event is inserted, sent to a socket of each channel (with in-flight credit), and its
// row deleted once every channel acknowledged it. No CloudEvent validation, no dedup,
// no ordering keys, no retries, no deadlines, no stats: just storage and sockets.
//
//   POST /topics/{t}/events        body: one JSON event, or a JSON array (batch)
//   PUT  /topics/{t}/channels/{c}  create a channel
//   GET  /topics/{t}/channels/{c}/ws   frames: {"op":"hello","max_in_flight"} ->
//        {"op":"welcome"}; server {"op":"msg","id","seq","event"}; client {"op":"fin","id"}
import { DurableObject } from "cloudflare:workers";

export default {
  async fetch(request, env) {
    const parts = new URL(request.url).pathname.split("/");
    if (parts[1] !== "topics" || !parts[2]) return new Response("not found", { status: 404 });
    return env.BASELINE.get(env.BASELINE.idFromName(parts[2])).fetch(request);
  },
};

export class Baseline extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, body TEXT NOT NULL, pending INTEGER NOT NULL);
                   CREATE TABLE IF NOT EXISTS channels (name TEXT PRIMARY KEY)`);
    this.seq = this.sql.exec("SELECT coalesce(max(seq), 0) AS s FROM events").one().s;
    this.channels = new Map(); // name -> { queue: [seq], sockets: [ws] }
    for (const { name } of this.sql.exec("SELECT name FROM channels")) this.channels.set(name, { queue: [], sockets: [] });
    this.bodies = new Map(); // seq -> body, while some channel still needs it
    this.inflight = new Map(); // ws -> count
    this.credit = new Map(); // ws -> max
  }

  channel(name) {
    let ch = this.channels.get(name);
    if (!ch) {
      this.sql.exec("INSERT OR IGNORE INTO channels (name) VALUES (?)", name);
      ch = { queue: [], sockets: [] };
      this.channels.set(name, ch);
    }
    return ch;
  }

  async fetch(request) {
    const [, , , what, name, ws] = new URL(request.url).pathname.split("/");
    if (what === "events" && request.method === "POST") {
      const parsed = JSON.parse(await request.text());
      const events = Array.isArray(parsed) ? parsed : [parsed];
      const results = [];
      for (const e of events) {
        const seq = ++this.seq;
        const body = JSON.stringify(e);
        this.sql.exec("INSERT INTO events (seq, body, pending) VALUES (?, ?, ?)", seq, body, this.channels.size);
        this.bodies.set(seq, body);
        for (const ch of this.channels.values()) ch.queue.push(seq);
        results.push({ seq });
      }
      for (const ch of this.channels.values()) this.pump(ch);
      return Response.json(Array.isArray(parsed) ? { results } : results[0], { status: 201 });
    }
    if (what === "channels" && request.method === "PUT" && !ws) {
      this.channel(name);
      return new Response(null, { status: 201 });
    }
    if (what === "channels" && ws === "ws") {
      const pair = new WebSocketPair();
      this.ctx.acceptWebSocket(pair[1], [name]);
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    return new Response("not found", { status: 404 });
  }

  pump(ch) {
    for (const ws of ch.sockets) {
      let n = this.inflight.get(ws);
      const max = this.credit.get(ws);
      while (n < max && ch.queue.length > 0) {
        const seq = ch.queue.shift();
        ws.send(`{"op":"msg","id":"${seq}","seq":${seq},"event":${this.bodies.get(seq)}}`);
        n++;
      }
      this.inflight.set(ws, n);
    }
  }

  webSocketMessage(ws, text) {
    const f = JSON.parse(text);
    const name = this.ctx.getTags(ws)[0];
    const ch = this.channel(name);
    if (f.op === "hello") {
      ch.sockets.push(ws);
      this.inflight.set(ws, 0);
      this.credit.set(ws, f.max_in_flight ?? 1);
      ws.send(`{"op":"welcome","channel":"${name}"}`);
    } else if (f.op === "fin") {
      const seq = Number(f.id);
      this.inflight.set(ws, this.inflight.get(ws) - 1);
      const row = this.sql.exec("UPDATE events SET pending = pending - 1 WHERE seq = ? RETURNING pending", seq).one();
      if (row.pending <= 0) {
        this.sql.exec("DELETE FROM events WHERE seq = ?", seq);
        this.bodies.delete(seq);
      }
    }
    this.pump(ch);
  }

  webSocketClose(ws) {
    const ch = this.channels.get(this.ctx.getTags(ws)[0]);
    if (ch) ch.sockets = ch.sockets.filter((s) => s !== ws);
  }
}
