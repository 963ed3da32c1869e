// NATS JetStream as the peer: Debian's nats-server with file storage on 127.0.0.1,
// driven by the official @nats-io/transport-node + @nats-io/jetstream clients.
// Durable publish throughput (each publish awaits JetStream's ack, i.e. stored) at 1 and
// 16 in flight, and publish -> consumer latency at 1,000 events/s with acks.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import { quantile } from "./lib.mjs";

const now = () => performance.now();

function serverBinary() {
  for (const p of ["nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server"]) {
    try {
      execFileSync(p, ["--version"], { stdio: "ignore" });
      return p;
    } catch {}
  }
  throw new Error("nats-server is not installed (apt-get install nats-server)");
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function start() {
  const dir = mkdtempSync(join(tmpdir(), "ismld-nats-"));
  const port = await freePort();
  const proc = spawn(serverBinary(), ["-js", "-sd", dir, "-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  let nc;
  for (let i = 0; i < 100 && !nc; i++) {
    try {
      nc = await connect({ servers: `127.0.0.1:${port}` });
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (!nc) throw new Error("nats-server did not start");
  return {
    nc,
    stop: async () => {
      await nc.close();
      proc.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const payload = (i, extra = {}) =>
  new TextEncoder().encode(JSON.stringify({ specversion: "1.0", id: `e-${i}`, source: "/bench", type: "bench.event", data: { i, pad: "x".repeat(64), ...extra } }));

export async function natsBench({ seconds, quick }) {
  const { nc, stop } = await start();
  try {
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    let stream = 0;
    const fresh = async () => {
      const name = `B${++stream}`;
      await jsm.streams.add({ name, subjects: [`${name}.>`], storage: "file" });
      return name;
    };
    const rate = async (conc) => {
      const name = await fresh();
      let n = 0;
      const start = now();
      const end = start + seconds * 1000;
      await Promise.all(
        Array.from({ length: conc }, async () => {
          while (now() < end) await js.publish(`${name}.x`, payload(n++));
        }),
      );
      return n / ((now() - start) / 1000);
    };
    // Async publish: up to 1,000 publishes awaiting their ack at once, one connection
    // (what ismld's pipelined socket publish is compared with).
    const asyncRate = async (total) => {
      const name = await fresh();
      let inflight = 0;
      let acked = 0;
      const start = now();
      for (let i = 0; i < total; i++) {
        while (inflight >= 1000) await new Promise((r) => setImmediate(r));
        inflight++;
        js.publish(`${name}.x`, payload(i)).then(() => {
          inflight--;
          acked++;
        });
      }
      while (acked < total) await new Promise((r) => setImmediate(r));
      return total / ((now() - start) / 1000);
    };
    const runs = quick ? 1 : 3;
    const stat = (xs) => {
      const s = [...xs].sort((a, b) => a - b);
      return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
    };
    const p1 = [];
    const p16 = [];
    const pAsync = [];
    for (let r = 0; r < runs; r++) {
      p1.push(await rate(1));
      p16.push(await rate(16));
      pAsync.push(await asyncRate(quick ? 5_000 : 20_000));
    }

    // Latency: a durable pull consumer that acks each message.
    const name = await fresh();
    await jsm.consumers.add(name, { durable_name: "c", ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
    const consumer = await js.consumers.get(name, "c");
    const lat = [];
    const messages = await consumer.consume({ max_messages: 1000 });
    (async () => {
      for await (const m of messages) {
        lat.push(now() - m.json().data.t);
        m.ack();
      }
    })();
    const total = Math.floor(1000 * (seconds + 2));
    let sent = 0;
    let inflight = 0;
    const start = now();
    while (sent < total) {
      const due = Math.min(total, Math.floor(now() - start));
      while (sent < due && inflight < 256) {
        inflight++;
        js.publish(`${name}.x`, payload(sent++, { t: now() })).finally(() => inflight--);
      }
      await new Promise((r) => setImmediate(r));
    }
    const achieved = total / ((now() - start) / 1000);
    const deadline = now() + 60_000;
    while (lat.length < total && now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await messages.close();
    lat.sort((a, b) => a - b);
    return {
      publish1: stat(p1),
      publish16: stat(p16),
      publishAsync: stat(pAsync),
      latency: { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: lat[lat.length - 1], achieved },
    };
  } finally {
    await stop();
  }
}

