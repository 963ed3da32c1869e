// The message panels of a channel page: peek (GET .../peek?limit=N, the next messages
// the channel would deliver, read without delivering them) and the dead letters
// (GET .../dead?limit=&cursor=, paged with the answer's cursor; each with its event and
// checkpoint, redriven one by one or all with POST .../dead/redrive). Both load on
// demand and after actions, not on every poll, so what the user reads stays put; the
// dead-letter list reloads by itself only on its first page, when the dead count changes.
import { api, channelPath } from "./api.js";
import { h, setText, syncRows, row, act, num, jsonBlock, confirmDialog } from "./dom.js";

/** One line about an event: type, source, CloudEvents id and time. */
function eventCell(td, e) {
  td.replaceChildren(
    h("div", { class: "event-head" }, h("strong", {}, e?.type ?? "?"), " from ", h("code", {}, e?.source ?? "?"), " id ", h("code", { class: "event-id" }, e?.id ?? "?"), e?.time ? ` at ${e.time}` : ""),
    jsonBlock(e, "json event"),
  );
}

const table = (id, heads) => {
  const tbody = h("tbody");
  return [h("table", { id, class: "data messages" }, h("thead", {}, h("tr", {}, heads.map((x) => h("th", {}, x)))), tbody), tbody];
};

export function peekPanel(topic, channel) {
  const path = `${channelPath(topic, channel)}/peek`;
  const limit = h("input", { id: "peek-limit", type: "number", min: 1, max: 100, value: 10, "aria-label": "how many" });
  const info = h("span", { id: "peek-info", class: "hint" });
  const [tbl, tbody] = table("peek-messages", ["Id", "Seq", "Partition", "Attempts", "Failures", "Event"]);
  const empty = h("p", { id: "peek-empty", hidden: true }, "Nothing the channel would deliver now (no ready message, or paused behind ordering keys, deferrals and filters).");

  async function load() {
    const n = Math.min(100, Math.max(1, Number(limit.value) || 10));
    const r = await act(`peek at ${channel}@${topic}`, () => api("GET", `${path}?limit=${n}`), () => null);
    if (!r) return;
    const messages = r.messages ?? [];
    setText(info, `${messages.length} message${messages.length === 1 ? "" : "s"} as of ${new Date().toLocaleTimeString()}`);
    empty.hidden = messages.length > 0;
    syncRows(tbody, messages, (m) => m.id, () => row(6, ["", "", "", "", "", "event"]), (tr, m) => {
      tr.dataset.id = m.id;
      [m.id, num(m.seq), m.partition, m.attempts, m.failures].forEach((v, i) => setText(tr.cells[i], v));
      eventCell(tr.cells[5], m.event);
    });
  }

  const el = h("section", { id: "peek" },
    h("h3", {}, "Next messages ", h("small", {}, "peek: read without delivering them")),
    h("form", { id: "peek-form", class: "inline", onsubmit: (ev) => (ev.preventDefault(), load()) },
      h("label", {}, "Show the next ", limit), h("button", { type: "submit", id: "peek-button" }, "Peek"), " ", info),
    tbl, empty);
  return { el, load };
}

export function deadPanel(topic, channel, onChange) {
  const path = `${channelPath(topic, channel)}/dead`;
  const full = `${channel}@${topic}`;
  let cursors = [null]; // the cursor each visited page started from
  let page = 0;
  let next = null; // the cursor of the page after this one
  let lastDead = null;
  let loading = null;

  const size = h("input", { id: "dead-limit", type: "number", min: 1, max: 1000, value: 25, "aria-label": "dead letters per page", onchange: () => first() });
  const count = h("small", { id: "dead-count" });
  const [tbl, tbody] = table("dead-letters", ["Id", "Seq", "Partition", "Failures", "Event", "Checkpoint", ""]);
  const empty = h("p", { id: "dead-empty", hidden: true }, "No dead letters.");
  const info = h("span", { id: "dead-page" });
  const firstBtn = h("button", { type: "button", id: "dead-first", onclick: () => first() }, "« First");
  const prevBtn = h("button", { type: "button", id: "dead-prev", onclick: () => ((page -= 1), load()) }, "‹ Previous");
  const nextBtn = h("button", { type: "button", id: "dead-next", onclick: () => {
    cursors[page + 1] = next;
    page += 1;
    load();
  } }, "Next ›");
  const all = h("button", { type: "button", id: "redrive-all", onclick: () => redriveAll() }, "Redrive all");

  function first() {
    cursors = [null];
    page = 0;
    return load();
  }

  async function fetchPage() {
    for (;;) {
      const q = new URLSearchParams({ limit: String(Math.min(1000, Math.max(1, Number(size.value) || 25))) });
      if (cursors[page]) q.set("cursor", cursors[page]);
      const r = await api("GET", `${path}?${q}`);
      if (r.messages?.length || page === 0) return r;
      // The page emptied (redriven meanwhile): start again from the first one.
      cursors = [null];
      page = 0;
    }
  }

  function render(r) {
    const messages = r.messages ?? [];
    next = r.cursor ?? null;
    empty.hidden = messages.length > 0;
    setText(info, `page ${page + 1}`);
    info.dataset.page = String(page + 1);
    firstBtn.disabled = prevBtn.disabled = page === 0;
    nextBtn.disabled = !next;
    syncRows(tbody, messages, (m) => m.id, createRow, updateRow);
  }

  async function load() {
    while (loading) await loading;
    loading = act(`list the dead letters of ${full}`, fetchPage, () => null).then((r) => r && render(r));
    try {
      await loading;
    } finally {
      loading = null;
    }
  }

  function createRow(m) {
    const tr = row(7, ["", "", "", "", "event", "checkpoint", "actions"]);
    tr.dataset.id = m.id;
    tr.cells[6].append(h("button", { type: "button", "data-action": "redrive", onclick: () => redrive([m.id]) }, "Redrive"));
    return tr;
  }

  function updateRow(tr, m) {
    [m.id, num(m.seq), m.partition, m.failures].forEach((v, i) => setText(tr.cells[i], v));
    eventCell(tr.cells[4], m.event);
    tr.cells[5].replaceChildren(m.checkpoint === null || m.checkpoint === undefined ? h("span", { class: "hint" }, "none") : jsonBlock(m.checkpoint, "json checkpoint"));
  }

  async function redrive(ids) {
    const r = await act(`redrive ${ids.length} dead letter of ${full}`, () => api("POST", `${path}/redrive`, { ids }), (r) => `redrove ${r.redriven} dead letter${r.redriven === 1 ? "" : "s"} of ${full} (${ids.join(", ")})`);
    if (r) await Promise.all([load(), onChange()]);
  }

  async function redriveAll() {
    const ok = await confirmDialog({
      title: `Redrive every dead letter of ${full}?`,
      message: `${lastDead ?? "All"} dead letters become ready again with their failures reset to 0.`,
      confirm: "Redrive all",
    });
    if (!ok) return;
    const r = await act(`redrive the dead letters of ${full}`, () => api("POST", `${path}/redrive`, {}), (r) => `redrove ${r.redriven} dead letter${r.redriven === 1 ? "" : "s"} of ${full}`);
    if (r) await Promise.all([first(), onChange()]);
  }

  const el = h("section", { id: "dead" },
    h("h3", {}, "Dead letters ", count),
    h("p", { class: "hint" }, "Messages whose failures reached their consumer's max_attempts: kept, not delivered. Redriving makes them ready again."),
    h("form", { class: "toolbar", onsubmit: (ev) => (ev.preventDefault(), first()) }, h("label", {}, "Per page ", size), h("button", { type: "button", id: "dead-reload", onclick: () => load() }, "Reload"), all),
    tbl, empty,
    h("nav", { class: "pager" }, firstBtn, prevBtn, info, nextBtn));

  return {
    el,
    load: first,
    /** The channel's dead count from a poll: on the first page, a change reloads it. */
    onStats(dead) {
      setText(count, `${num(dead)} in all`);
      all.disabled = dead === 0;
      if (lastDead !== null && dead !== lastDead && page === 0 && !loading) load();
      lastDead = dead;
    },
  };
}
