// Subscribes to a topic on an ephemeral channel and shows each message; publishes what
// the form holds. URL parameters (?url=&token=&topic=) prefill the form, and with them
// the page connects at once. Errors (a refused token, a refused publish) show on the page.
import { Connection } from "ismld";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
$("url").value = params.get("url") ?? "http://127.0.0.1:8787";
$("token").value = params.get("token") ?? "";
$("topic").value = params.get("topic") ?? "demo";

let bus;

function show(id, text, error = false) {
  $(id).textContent = text;
  $(id).className = error ? "error" : "";
}

async function connect() {
  await bus?.close();
  const token = $("token").value;
  bus = new Connection({ url: $("url").value, credentials: token ? { token, clientId: "browser-example" } : undefined });
  for (const state of ["connecting", "connected", "disconnected"]) bus.on(state, () => show("status", state));
  bus.on("error", ({ error }) => show("status", `error: ${error.message}`, true));
  const sub = bus.subscribe({ topic: $("topic").value, channel: "browser#ephemeral", maxInFlight: 10 }, (msg) => {
    const li = document.createElement("li");
    li.textContent = `#${msg.seq} ${JSON.stringify(msg.data)}`;
    $("messages").append(li);
  });
  try {
    await sub.start();
  } catch (e) {
    show("status", `error: ${e.message}`, true);
  }
}

$("connect").addEventListener("click", () => connect());

$("publish").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!bus) await connect();
  const text = $("message").value;
  let data = text;
  try {
    data = JSON.parse(text);
  } catch {
    /* plain text */
  }
  try {
    const meta = await bus.publish($("topic").value, data);
    show("published", `published seq ${meta.seq}`);
  } catch (err) {
    show("published", `refused: ${err.code ?? "error"}: ${err.message}`, true);
  }
});

if (params.has("url")) connect();
