// The ismld dashboard: admin login, hash routing between its pages (topic list, topic,
// channel, clients) and the polling loop. No build step: plain ES modules next to uPlot,
// served as Workers static assets. `?interval_ms=N` changes the polling interval
// (default 2000). Each page builds its DOM once when it is opened and every poll only
// updates text and rows in place, so what the user is typing is never reset.
import { api, session, setToken, describe } from "./api.js";
import { $, notify, setText, staleNotice } from "./dom.js";
import { parse, pageKey } from "./router.js";
import { topicsView } from "./topics.js";
import { topicView } from "./topic.js";
import { channelView } from "./channel.js";
import { clientsView } from "./clients.js";

const params = new URLSearchParams(location.search);
const INTERVAL_MS = Math.max(250, Number(params.get("interval_ms")) || 2000);
const VIEWS = { topics: topicsView, topic: topicView, channel: channelView, clients: clientsView };

let current = null; // { key, view }
let timer = null;
let polling = null; // the running poll
let queued = null; // the poll asked for while one runs

/** Opens the page of the current hash (or passes a same-page change, like a search, on). */
function route() {
  if (!session.token) return;
  const r = parse();
  for (const a of document.querySelectorAll("[data-nav]"))
    a.classList.toggle("current", a.dataset.nav === (r.view === "clients" ? "clients" : "topics"));
  const key = pageKey(r);
  if (current?.key === key) {
    current.view.route?.(r);
    return;
  }
  current?.view.unmount?.();
  staleNotice();
  const el = $("view");
  el.replaceChildren();
  const view = VIEWS[r.view](el, r, { refresh });
  current = { key, view };
  window.scrollTo(0, 0);
  refresh();
}

/** One poll of the open page: its data, then the header's "updated" line. */
async function poll() {
  clearTimeout(timer);
  try {
    await current?.view.refresh?.();
    setText($("poll-state"), `updated ${new Date().toLocaleTimeString()}`);
    $("poll-state").classList.remove("error");
  } catch (e) {
    setText($("poll-state"), `refresh failed: ${describe(e)}`);
    $("poll-state").classList.add("error");
  }
  document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes) + 1);
}

/**
 * Polls now (two polls never overlap: asked during one, it polls once more right after,
 * and answers when that one is done, so an action that awaits it sees its own effect),
 * then every INTERVAL_MS.
 */
function refresh() {
  if (!polling) {
    polling = poll().finally(() => {
      polling = null;
      clearTimeout(timer);
      if (session.token) timer = setTimeout(refresh, INTERVAL_MS);
    });
    return polling;
  }
  queued ??= polling.then(() => {
    queued = null;
    return refresh();
  });
  return queued;
}

function logout(message = "") {
  clearTimeout(timer);
  setToken(null);
  current?.view.unmount?.();
  current = null;
  $("view").replaceChildren();
  $("app").hidden = true;
  $("nav").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  setText($("poll-state"), "");
  $("login-error").textContent = message;
}

function start() {
  $("login").hidden = true;
  $("app").hidden = false;
  $("nav").hidden = false;
  $("logout").hidden = false;
  route();
}

session.onUnauthorized = () => logout("The admin token was refused.");

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const token = $("token").value.trim();
  try {
    await api("GET", "/v1/topics", undefined, { token });
  } catch (e) {
    return logout(e.status === 401 ? "Wrong admin token." : `Login failed: ${describe(e)}`);
  }
  setToken(token);
  $("token").value = "";
  start();
});

$("logout").addEventListener("click", () => logout());
$("status-close").addEventListener("click", () => notify(""));
window.addEventListener("hashchange", route);

fetch("/v1/health")
  .then((r) => r.json())
  .then((h) => setText($("version"), `v${h.version}`))
  .catch(() => {});

if (session.token) start();
else $("login").hidden = false;
