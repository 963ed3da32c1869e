// Subscribes to a topic on an ephemeral channel and shows each message; publishes what
// the form holds. URL parameters (?url=&token=&topic=) prefill the form.
import { Connection } from "ismld";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
$("url").value = params.get("url") ?? "http://127.0.0.1:8787";
$("token").value = params.get("token") ?? "";
$("topic").value = params.get("topic") ?? "demo";

let bus;

$("connect").addEventListener("click", async () => {
  await bus?.close();
  bus = new Connection({ url: $("url").value, credentials: { token: $("token").value, clientId: "browser-example" } });
  for (const state of ["connecting", "connected", "disconnected"]) bus.on(state, () => ($("status").textContent = state));
  bus.on("error", ({ error }) => ($("status").textContent = `error: ${error.message}`));
  const sub = bus.subscribe({ topic: $("topic").value, channel: "browser#ephemeral", maxInFlight: 10 }, (msg) => {
    const li = document.createElement("li");
    li.textContent = `#${msg.seq} ${JSON.stringify(msg.data)}`;
    $("messages").append(li);
  });
  await sub.start();
});

$("publish").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!bus) return;
  const text = $("message").value;
  let data = text;
  try {
    data = JSON.parse(text);
  } catch {
    /* plain text */
  }
  const meta = await bus.publish($("topic").value, data);
  $("published").textContent = `published seq ${meta.seq}`;
});
