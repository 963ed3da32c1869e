// Items 11 and 12 of `npm run bench`: partitioned topics (publish and consume with 1, 4
// and 16 partitions side by side, and the routing cost per publish against a topic made
// implicitly) and push channels (deliveries/s to a local receiver).
import http from "node:http";
import { consumer, event, topicName } from "./lib.mjs";

const now = () => performance.now();
const ADMIN = { authorization: "Bearer test-admin-token-0123456789" };

async function until(check, ms, what) {
  const end = now() + ms;
  while (!check()) {
    if (now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function req(url, method, body, headers = {}) {
  const res = await fetch(url, { method, body, headers });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** A topic of `n` partitions (`n` 0: a topic made implicitly, by its first publish). */
async function topicOf(t, n) {
  const topic = topicName(`parts${n}`);
  if (n > 0) await req(`${t.url}/v1/topics/${topic}`, "PUT", JSON.stringify({ partitions: n }), ADMIN);
  await req(`${t.url}/v1/topics/${topic}/channels/c`, "PUT");
  return topic;
}

const keyed = (i) => ({ ...event(i), orderingkey: `k${i % 97}` });

/** Single-event keyed publishes, `conc` connections, for `ms`: events/s. */
export async function partitionedPublish(t, n, conc, ms) {
  const topic = await topicOf(t, n);
  let i = 0;
  const start = now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (now() < end) {
        await req(`${t.url}/v1/topics/${topic}/events`, "POST", JSON.stringify(keyed(i++)), {
          "content-type": "application/cloudevents+json",
        });
      }
    }),
  );
  return i / ((now() - start) / 1000);
}

/** `total` keyed events waiting, one consumer socket per partition (100 in flight over all): finished/s. */
export async function partitionedConsume(t, n, total) {
  const topic = await topicOf(t, n);
  for (let i = 0; i < total; i += 500) {
    const batch = Array.from({ length: Math.min(500, total - i) }, (_, j) => keyed(i + j));
    await req(`${t.url}/v1/topics/${topic}/events`, "POST", JSON.stringify(batch), {
      "content-type": "application/cloudevents-batch+json",
    });
  }
  let got = 0;
  const parts = Math.max(1, n);
  const start = now();
  const sockets = await Promise.all(
    Array.from({ length: parts }, (_, p) =>
      consumer(`${t.url}/v1/topics/${topic}/channels/c/ws${n > 0 ? `?partition=${p}` : ""}`, {
        maxInFlight: Math.max(1, Math.floor(100 / parts)),
        onMsg: () => got++,
      }),
    ),
  );
  await until(() => got >= total, 300_000, "every message finished");
  const rate = total / ((now() - start) / 1000);
  for (const ws of sockets) ws.close();
  return rate;
}

/** Push: `total` events waiting on a push channel (`maxInFlight`), to a local receiver answering 204: deliveries/s. */
export async function pushRate(t, maxInFlight, total) {
  let got = 0;
  const server = http.createServer((q, res) => {
    q.resume();
    q.on("end", () => {
      got++;
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const topic = topicName("push");
  // Paused while the backlog is written, so the rate is of delivery only.
  const url = `http://127.0.0.1:${server.address().port}/hook`;
  await req(`${t.url}/v1/topics/${topic}/channels/hook`, "PUT", JSON.stringify({ push: { url, max_in_flight: maxInFlight } }));
  await req(`${t.url}/v1/topics/${topic}/channels/hook/pause`, "POST");
  for (let i = 0; i < total; i += 500) {
    const batch = Array.from({ length: Math.min(500, total - i) }, (_, j) => event(i + j));
    await req(`${t.url}/v1/topics/${topic}/events`, "POST", JSON.stringify(batch), {
      "content-type": "application/cloudevents-batch+json",
    });
  }
  const start = now();
  await req(`${t.url}/v1/topics/${topic}/channels/hook/unpause`, "POST");
  await until(() => got >= total, 300_000, "every push delivered");
  const rate = total / ((now() - start) / 1000);
  await new Promise((r) => server.close(r));
  return rate;
}
