// Reliability: publishers and consumers on several channels while the runtime is
// restarted several times. At the end every acknowledged event (201) was delivered on
// every channel and every channel reports all of its messages finished; no message was
// delivered again on a channel after its fin was answered ok. (A fin can commit without
// its `ok` reaching the client when the runtime stops in between: the server then never
// redelivers it, which is why "finished" is read from the server's stats.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { startWorker, call, publish, cloudEvent, uniqueName, Socket, tempDir } from "./harness.mjs";

const CHANNELS = ["billing", "search", "audit"];
const ROUNDS = 4;
const ROUND_MS = 5_000;

test("nothing acknowledged is lost across repeated runtime restarts", { timeout: 150_000 }, async () => {
  const dir = tempDir();
  const topic = uniqueName("reliable");
  const acked = new Set(); // seqs answered 201
  const finished = Object.fromEntries(CHANNELS.map((c) => [c, new Set()])); // fin answered ok
  const delivered = Object.fromEntries(CHANNELS.map((c) => [c, new Set()]));
  const counts = { published: 0, publishErrors: 0, deliveries: 0, redeliveries: 0, finAfterOk: 0 };
  let eventNo = 0;

  /** A consumer that fins everything (and requeues one message in ten). */
  function runConsumer(url, channel, stopSignal) {
    return (async () => {
      let s;
      try {
        s = await Socket.consumer(url, topic, channel, { max_in_flight: 5, handler_timeout_ms: 5000 });
      } catch {
        return;
      }
      s.ws.on("error", () => {});
      while (!stopSignal.stopped && !s.closed) {
        let m;
        try {
          m = await Promise.race([s.msg(60_000), stopSignal.promise]);
        } catch {
          break;
        }
        if (!m) break;
        counts.deliveries += 1;
        delivered[channel].add(m.seq);
        if (m.attempt > 1) counts.redeliveries += 1;
        if (finished[channel].has(m.seq)) counts.finAfterOk += 1;
        const op = Math.random() < 0.1 ? "req" : "fin";
        let answer;
        try {
          answer = await s.request({ op, id: m.id });
        } catch {
          break;
        }
        if (op === "fin" && answer.op === "ok") finished[channel].add(m.seq);
      }
      s.close();
    })();
  }

  async function runPublisher(url, stopSignal) {
    while (!stopSignal.stopped) {
      eventNo += 1;
      try {
        const r = await publish(url, topic, cloudEvent(`r-${eventNo}`, { n: eventNo }));
        if (r.status === 201) {
          acked.add(r.body.seq);
          counts.published += 1;
        } else counts.publishErrors += 1;
      } catch {
        counts.publishErrors += 1;
      }
    }
  }

  try {
    for (let round = 0; round < ROUNDS; round++) {
      const w = await startWorker({ persist: dir });
      if (round === 0) for (const c of CHANNELS) await call(w.url, "PUT", `/v1/topics/${topic}/channels/${c}`);
            const signal = () => {
        let release;
        const s = { stopped: false, promise: new Promise((r) => (release = r)) };
        s.fire = () => {
          s.stopped = true;
          release(null);
        };
        return s;
      };
      const pubStop = signal();
      const subStop = signal();
      const publishers = [runPublisher(w.url, pubStop), runPublisher(w.url, pubStop)];
      const consumers = CHANNELS.flatMap((c) => [runConsumer(w.url, c, subStop), runConsumer(w.url, c, subStop)]);
      await new Promise((r) => setTimeout(r, ROUND_MS)); // let the load run, then pull the plug
      // Consumers stop where they are (messages stay in flight); one HTTP answer is a commit
      // barrier for the fins already answered ok (local workerd may answer on a socket a
      // few ms before the commit reaches disk; see the README). Publishers keep going.
      subStop.fire();
      await Promise.allSettled(consumers);
      await call(w.url, "GET", `/v1/topics/${topic}`).catch(() => {});
      await w.stop(); // the runtime goes away under publishing load
      pubStop.fire();
      await Promise.allSettled(publishers);
    }

    // Final run: drain every channel until each acknowledged event is finished everywhere.
    const w = await startWorker({ persist: dir });
    let release;
    const stop = { stopped: false, promise: new Promise((r) => (release = r)) };
    const drainers = CHANNELS.map((c) => runConsumer(w.url, c, stop));
    const deadline = Date.now() + 60_000;
    const undelivered = () => CHANNELS.map((c) => [c, [...acked].filter((s) => !delivered[c].has(s))]);
    const unfinished = async () => {
      const r = await call(w.url, "GET", `/v1/topics/${topic}`);
      return r.body.channels.reduce((n, c) => n + c.depth, 0);
    };
    while ((undelivered().some(([, l]) => l.length) || (await unfinished()) > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    stop.stopped = true;
    release(null);
    await Promise.allSettled(drainers);
    const stats = await call(w.url, "GET", `/v1/topics/${topic}`);
    await w.stop();

    console.log(
      `reliability: ${ROUNDS} restarts, ${counts.published} events acknowledged (${counts.publishErrors} publishes failed during restarts), ` +
        `${counts.deliveries} deliveries (${counts.redeliveries} redeliveries), ` +
        stats.body.channels.map((c) => `${c.channel}: ${c.finished_total} finished (${finished[c.channel].size} fins answered ok)`).join(", "),
    );
    assert.ok(counts.published > 50, "the load ran");
    const lost = undelivered().filter(([, l]) => l.length);
    assert.deepEqual(lost, [], "every acknowledged event was delivered on every channel");
    for (const c of stats.body.channels) {
      assert.deepEqual([c.depth, c.dead], [0, 0], `every message finished on ${c.channel}`);
      assert.ok(c.finished_total >= acked.size);
    }
    assert.equal(counts.finAfterOk, 0, "nothing was delivered again after its fin was acknowledged");
    for (const c of stats.body.channels) {
      assert.equal(c.in_flight + c.ready + c.deferred + c.dead, c.depth);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
