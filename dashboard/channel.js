// A channel's page (#/topics/{topic}/channels/{channel}): its stats and counters, a rate
// chart, its consumers (one row per attached socket: who, from where, credit, in flight,
// delivered / finished / requeued, connected since; per partition), push settings and
// outcomes, the filter, pause/unpause, seek by seq (with the partition on a
// partitioned topic) or by time, delete, peek and the dead letters. Polls
// GET /v1/topics/{topic}.
import { api, topicPath, channelPath } from "./api.js";
import { h, setText, syncRows, row, act, num, rate, statList, confirmDialog, notify, jsonBlock } from "./dom.js";
import { observeTopic, rateOf, mountChart } from "./charts.js";
import { go, href } from "./router.js";
import { badges } from "./topic.js";
import { peekPanel, deadPanel } from "./messages.js";

const GAUGES = [["depth", "Depth"], ["ready", "Ready"], ["in_flight", "In flight"], ["deferred", "Deferred"], ["dead", "Dead"], ["consumers", "Consumers"], ["delivered_rate", "Delivered/s"], ["finished_rate", "Finished/s"]];
const COUNTERS = ["published_total", "delivered_total", "finished_total", "requeued_total", "timed_out_total", "dropped_total", "filtered_total", "expired_total"];
const PUSH = [["url", "URL"], ["headers", "Headers"], ["max_in_flight", "max_in_flight"], ["timeout_ms", "timeout_ms"], ["max_attempts", "max_attempts"], ["retry_ms", "retry_ms"], ["push_ok_total", "Pushed OK"], ["push_failed_total", "Push failures"], ["push_error", "Last error"]];

/** Text typed as a time -> RFC 3339: "…Z"/offset text as is, anything else Date can read (local time). */
function rfc3339(text) {
  const s = text.trim();
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/i.test(s)) return s;
  const d = new Date(s.replace(" ", "T"));
  if (!s || Number.isNaN(d.getTime())) throw new Error(`“${s}” is not a time (write e.g. 2025-06-01T12:00:00Z, or a local 2025-06-01 12:00)`);
  return d.toISOString();
}

export function channelView(el, route, ctx) {
  const { topic, channel } = route;
  const path = channelPath(topic, channel);
  const full = `${channel}@${topic}`;
  let alive = true;
  let stats = null;

  const state = h("span", { id: "channel-state", class: "badge" });
  const badgeBox = h("span", { id: "channel-badges" });
  const missing = h("p", { id: "channel-missing", class: "error", hidden: true }, `There is no channel ${full} (it may have been deleted). `, h("a", { href: href({ view: "topic", topic }) }, `Back to ${topic}`));
  const pause = h("button", { type: "button", id: "pause-toggle", onclick: () => togglePause() }, "Pause");
  const gauges = statList("channel-stats", GAUGES);
  const counters = statList("channel-counters", COUNTERS.map((k) => [k, k]));
  const chartEl = h("div", { id: "channel-chart", class: "chart" });
  const consumerSummary = h("p", { id: "consumer-summary" });
  const [attachedTable, attachedBody] = (() => {
    const b = h("tbody");
    const heads = ["Session", "Who", "Address", "Partition", "Credit", "In flight", "Delivered", "Finished", "Requeued", "Connected since"];
    return [h("table", { id: "attached", class: "data", hidden: true }, h("thead", {}, h("tr", {}, heads.map((x) => h("th", {}, x)))), b), b];
  })();
  const [partTable, partBody] = (() => {
    const b = h("tbody");
    const heads = ["Partition", "Consumers", "Depth", "Ready", "In flight", "Deferred", "Dead", "State"];
    return [h("table", { id: "partition-stats", class: "data", hidden: true }, h("thead", {}, h("tr", {}, heads.map((x) => h("th", {}, x)))), b), b];
  })();
  const push = statList("push-settings", PUSH);
  const pushSection = h("section", { id: "push", hidden: true }, h("h3", {}, "Push"), h("p", { class: "hint" }, "Each message is POSTed to the URL, signed with the secret shown once at creation. Header values are hidden by the API."), push.el);
  const filterBody = h("div", { id: "filter-json" });

  const seq = h("input", { id: "seek-seq", type: "number", min: 1, required: true, placeholder: "seq" });
  const partition = h("select", { id: "seek-partition", "aria-label": "partition" });
  const partLabel = h("label", { hidden: true }, "of partition ", partition);
  const when = h("input", { id: "seek-time", required: true, size: 28, placeholder: "2025-06-01T12:00:00Z" });
  const peek = peekPanel(topic, channel);
  const dead = deadPanel(topic, channel, () => ctx.refresh());

  const body = h("div", { id: "channel-body", hidden: true },
    h("div", { class: "toolbar" }, pause, h("button", { type: "button", id: "delete-channel", class: "danger", onclick: () => deleteChannel() }, "Delete channel…")),
    h("div", { class: "split" }, gauges.el, chartEl),
    h("details", { class: "counters" }, h("summary", {}, "Counters since the channel was made"), counters.el),
    h("section", { id: "consumers" }, h("h3", {}, "Consumers"), consumerSummary,
      attachedTable,
      h("p", { class: "hint" }, "Socket consumers only: pull and push consumers are not listed. A consumer's counters start again when the topic's object restarts."),
      partTable),
    pushSection,
    h("section", { id: "filter" }, h("h3", {}, "Filter"), filterBody),
    h("section", { id: "seek" }, h("h3", {}, "Seek"),
      h("p", { class: "hint" }, "Every retained event from the target on becomes ready again and earlier ones finished; messages in flight are taken back, deferred messages, dead letters and checkpoints are forgotten."),
      h("form", { id: "seek-seq-form", class: "inline", onsubmit: (ev) => seek(ev, "seq") }, h("label", {}, "To seq ", seq), partLabel, h("button", { type: "submit" }, "Seek to seq")),
      h("form", { id: "seek-time-form", class: "inline", onsubmit: (ev) => seek(ev, "time") }, h("label", {}, "To the first event accepted at or after ", when), h("button", { type: "submit" }, "Seek to time"))),
    peek.el,
    dead.el,
  );
  el.append(
    h("nav", { class: "crumbs" }, h("a", { href: "#/topics" }, "Topics"), " › ", h("a", { href: href({ view: "topic", topic }) }, topic), " › ", channel),
    h("h2", {}, "Channel ", h("span", { id: "channel-name" }, channel), h("small", {}, ` @ ${topic}`), " ", badgeBox, " ", state),
    missing,
    body,
  );
  const chart = mountChart(chartEl, `channel:${topic}\u0000${channel}`, ["delivered", "finished"]);

  async function togglePause() {
    const what = pause.dataset.action ?? "pause";
    await act(`${what} ${full}`, () => api("POST", `${path}/${what}`), () => `${what}d ${full}`);
    await ctx.refresh();
  }

  async function deleteChannel() {
    const ok = await confirmDialog({ title: `Delete channel ${full}?`, message: "Its backlog, dead letters and counters are removed and its consumers disconnected.", confirm: "Delete channel" });
    if (!ok) return;
    if (await act(`delete ${full}`, () => api("DELETE", path), () => `deleted ${full}`)) {
      go({ view: "topic", topic });
    }
  }

  async function seek(ev, by) {
    ev.preventDefault();
    let req;
    let target;
    try {
      if (by === "seq") {
        req = { seq: Number(seq.value) };
        target = `seq ${seq.value}`;
        if (!partLabel.hidden) {
          req.partition = Number(partition.value);
          target += ` of partition ${partition.value}`;
        }
      } else {
        req = { time: rfc3339(when.value) };
        target = req.time;
      }
    } catch (e) {
      return notify(`seek ${full} failed: ${e.message}`, true);
    }
    const ok = await confirmDialog({ title: `Seek ${full} to ${target}?`, message: "Messages in flight are taken back; deferred messages, dead letters and checkpoints are forgotten.", confirm: "Seek" });
    if (!ok) return;
    const r = await act(`seek ${full} to ${target}`, () => api("POST", `${path}/seek`, req), (r) => `sought ${full} to ${target}: ${r.ready} ready`);
    if (r) await Promise.all([ctx.refresh(), peek.load(), dead.load()]);
  }

  function render() {
    const s = stats;
    const n = s.partitions?.length ?? 0;
    setText(state, s.paused ? "paused" : "active");
    state.className = `badge ${s.paused ? "paused" : "active"}`;
    if (!badgeBox.childElementCount) badgeBox.append(...badges(s).filter(Boolean));
    pause.dataset.action = s.paused ? "unpause" : "pause";
    setText(pause, s.paused ? "Unpause" : "Pause");
    const r = rateOf(topic)?.channels.get(channel);
    gauges.set({ ...Object.fromEntries(GAUGES.map(([k]) => [k, num(s[k])])), delivered_rate: rate(r?.delivered), finished_rate: rate(r?.finished) });
    counters.set(Object.fromEntries(COUNTERS.map((k) => [k, num(s[k])])));

    setText(consumerSummary, s.push
      ? `A push channel: messages are POSTed to its URL, no consumer attaches. ${num(s.consumers)} socket consumers.`
      : `${num(s.consumers)} socket consumer${s.consumers === 1 ? "" : "s"} attached${n ? ` over ${n} partitions` : ""}.`);
    const attached = s.attached ?? [];
    attachedTable.hidden = attached.length === 0;
    syncRows(attachedBody, attached, (a) => `${a.partition ?? 0}/${a.session}`, () => row(10), (tr, a) => {
      tr.dataset.session = a.session;
      const since = new Date(a.connected_at);
      [a.session, a.source, a.address ?? "—", a.partition ?? 0, num(a.max_in_flight), num(a.in_flight), num(a.delivered), num(a.finished), num(a.requeued), since.toLocaleString()]
        .forEach((v, i) => setText(tr.cells[i], String(v)));
      tr.cells[9].title = a.connected_at;
    });
    partTable.hidden = !n;
    if (n) {
      syncRows(partBody, s.partitions, (p) => String(p.partition), () => row(8), (tr, p) => {
        tr.dataset.partition = String(p.partition);
        [p.partition, num(p.consumers), num(p.depth), num(p.ready), num(p.in_flight), num(p.deferred), num(p.dead), p.paused ? "paused" : "active"].forEach((v, i) => setText(tr.cells[i], v));
      });
      partLabel.hidden = false;
      if (partition.options.length !== n) partition.replaceChildren(...s.partitions.map((p) => h("option", { value: p.partition }, `p${p.partition}`)));
    }

    pushSection.hidden = !s.push;
    if (s.push) {
      const p = s.push;
      const headers = Object.keys(p.headers ?? {});
      push.set({
        url: p.url, headers: headers.length ? headers.map((k) => `${k}: ${p.headers[k]}`).join("; ") : "none",
        max_in_flight: num(p.max_in_flight), timeout_ms: num(p.timeout_ms), max_attempts: num(p.max_attempts), retry_ms: num(p.retry_ms),
        push_ok_total: num(s.push_ok_total), push_failed_total: num(s.push_failed_total), push_error: s.push_error ?? "none",
      });
      push.el.querySelector('[data-stat="push_error"]').classList.toggle("error", Boolean(s.push_error));
    }
    dead.onStats(s.dead);
    renderFilter(s.filter);
  }

  let shownFilter;
  function renderFilter(f) {
    const text = JSON.stringify(f ?? null);
    if (text === shownFilter) return;
    shownFilter = text;
    filterBody.replaceChildren(f === undefined
      ? h("p", { class: "hint" }, "None: the channel gets every event of the topic.")
      : h("div", {}, h("p", { class: "hint" }, "As given when the channel was made:"), jsonBlock(f)));
  }

  let loaded = false;
  return {
    async refresh() {
      let t;
      try {
        t = await api("GET", topicPath(topic));
      } catch (e) {
        if (e.status !== 404) throw e;
      }
      if (!alive) return;
      if (t) observeTopic(t, Date.now());
      const s = t?.channels.find((c) => c.channel === channel);
      missing.hidden = Boolean(s);
      body.hidden = !s;
      if (!s) return;
      stats = s;
      chart.update();
      render();
      if (!loaded) {
        loaded = true;
        peek.load();
        dead.load();
      }
    },
    unmount() {
      alive = false;
      chart.destroy();
    },
  };
}
