// A topic's page (#/topics/{topic}): its summary (partitions, seq, retained), its rate
// chart, its channels (a partitioned topic's channels expand into one row per
// partition), the form to make a channel, and deleting the topic. Polls
// GET /v1/topics/{topic} (the one topic only, not the whole list).
import { api, topicPath, channelPath } from "./api.js";
import { h, setText, syncRows, row, act, num, rate, statList, confirmDialog } from "./dom.js";
import { observeTopic, rateOf, mountChart } from "./charts.js";
import { go, href } from "./router.js";
import { channelForm } from "./channel-form.js";

export const STATS = ["depth", "ready", "in_flight", "deferred", "dead", "consumers"];
const sum = (chans, k) => chans.reduce((n, c) => n + c[k], 0);

/** The badges after a channel's name: push, ephemeral, paused. */
export function badges(c) {
  return [
    c.push ? h("span", { class: "badge push", title: `push to ${c.push.url}` }, "push") : null,
    c.channel.endsWith("#ephemeral") ? h("span", { class: "badge" }, "ephemeral") : null,
  ];
}

export function topicView(el, route, ctx) {
  const topic = route.topic;
  let alive = true;
  let stats = null;
  const expanded = new Set();

  const missing = h("p", { id: "topic-missing", class: "error", hidden: true }, `There is no topic “${topic}” (it may have been deleted). `, h("a", { href: "#/topics" }, "Back to the topics"));
  const summary = statList("topic-summary", [
    ["partitions", "Partitions"], ["seq", "Seq"], ["retained", "Retained"], ["channels", "Channels"],
    ["depth", "Depth"], ["in_flight", "In flight"], ["dead", "Dead"], ["published", "Published/s"], ["finished", "Finished/s"],
  ]);
  const chartEl = h("div", { id: "topic-chart", class: "chart" });
  const tbody = h("tbody");
  const noChannels = h("p", { id: "no-channels", hidden: true }, "No channels: events published now are kept for seek, and a new channel gets what is published from its creation (or from its from seq).");
  const parts = h("small", { id: "topic-partitions" });
  const body = h(
    "div",
    { id: "topic-body", hidden: true },
    summary.el,
    h("section", {}, h("h3", {}, "Rates ", h("small", {}, "events per second, last 5 minutes")), chartEl),
    h("section", {}, h("h3", {}, "Channels"),
      h("table", { id: "channels", class: "data" },
        h("thead", {}, h("tr", {}, ["Channel", "Depth", "Ready", "In flight", "Deferred", "Dead", "Consumers", "State", "Finished/s", ""].map((c) => h("th", {}, c)))),
        tbody),
      noChannels),
    channelForm(topic, () => ctx.refresh()),
    h("section", { class: "danger-zone" }, h("h3", {}, "Delete"),
      h("p", {}, "Deleting the topic removes every partition, channel, event, dead letter and counter, and closes its sockets."),
      h("button", { type: "button", id: "delete-topic", class: "danger", onclick: () => deleteTopic() }, "Delete topic…")),
  );
  el.append(
    h("nav", { class: "crumbs" }, h("a", { href: "#/topics" }, "Topics"), " › ", topic),
    h("h2", {}, "Topic ", h("span", { id: "topic-name" }, topic), " ", parts),
    missing,
    body,
  );
  const chart = mountChart(chartEl, `topic:${topic}`, ["published", "finished"]);

  async function deleteTopic() {
    const ok = await confirmDialog({
      title: `Delete topic ${topic}?`,
      message: "Every partition, channel, retained event and dead letter of it is removed, and its consumers are disconnected. This cannot be undone.",
      confirm: "Delete topic",
      typed: topic,
    });
    if (!ok) return;
    if (await act(`delete topic ${topic}`, () => api("DELETE", topicPath(topic)), () => `deleted topic ${topic}`)) {
      go({ view: "topics", q: "", page: 1 });
    }
  }

  function createChannelRow(item) {
    const tr = row(10, ["", "", "", "", "", "", "", "", "", "actions"]);
    if (item.partition !== undefined) {
      tr.className = "partition";
      tr.dataset.partitionOf = item.c.channel;
      tr.dataset.partition = String(item.partition);
      return tr;
    }
    const c = item.c;
    tr.dataset.channel = c.channel;
    const name = tr.cells[0];
    if (c.partitions) {
      const toggle = h("button", { type: "button", class: "toggle", "data-action": "partitions", onclick: () => {
        if (expanded.has(c.channel)) expanded.delete(c.channel);
        else expanded.add(c.channel);
        render();
      } });
      name.append(toggle);
    }
    name.append(h("a", { href: href({ view: "channel", topic, channel: c.channel }) }, c.channel), " ", ...badges(c).filter(Boolean));
    const pause = h("button", { type: "button", onclick: () => {
      const what = pause.dataset.action;
      const full = `${c.channel}@${topic}`;
      act(`${what} ${full}`, () => api("POST", `${channelPath(topic, c.channel)}/${what}`), () => `${what}d ${full}`).then(() => ctx.refresh());
    } });
    tr.cells[9].append(pause, h("a", { class: "button", href: href({ view: "channel", topic, channel: c.channel }) }, "Open"));
    return tr;
  }

  function updateChannelRow(tr, item) {
    const s = item.partition !== undefined ? item.c.partitions.find((p) => p.partition === item.partition) : item.c;
    if (item.partition !== undefined) setText(tr.cells[0], `partition ${item.partition}`);
    STATS.forEach((k, i) => setText(tr.cells[i + 1], num(s[k])));
    setText(tr.cells[7], s.paused ? "paused" : "active");
    tr.cells[7].className = s.paused ? "paused" : "";
    tr.cells[5].classList.toggle("warn", s.dead > 0);
    if (item.partition !== undefined) return;
    setText(tr.cells[8], rate(rateOf(topic)?.channels.get(s.channel)?.finished));
    const toggle = tr.querySelector('button[data-action="partitions"]');
    if (toggle) {
      const open = expanded.has(s.channel);
      setText(toggle, open ? "▾" : "▸");
      toggle.title = open ? "hide the partitions" : `show its ${s.partitions.length} partitions`;
      toggle.setAttribute("aria-expanded", String(open));
    }
    const pause = tr.cells[9].firstChild;
    pause.dataset.action = s.paused ? "unpause" : "pause";
    setText(pause, s.paused ? "Unpause" : "Pause");
  }

  function render() {
    if (!stats) return;
    const chans = stats.channels;
    const n = stats.partitions ?? 1;
    setText(parts, n > 1 ? `${n} partitions` : "");
    const r = rateOf(topic);
    summary.set({
      partitions: num(n), seq: num(stats.seq), retained: num(stats.retained), channels: num(chans.length),
      depth: num(sum(chans, "depth")), in_flight: num(sum(chans, "in_flight")), dead: num(sum(chans, "dead")),
      published: rate(r?.published), finished: rate(r?.finished),
    });
    const items = [];
    for (const c of chans) {
      items.push({ c });
      if (c.partitions && expanded.has(c.channel)) for (const p of c.partitions) items.push({ c, partition: p.partition });
    }
    noChannels.hidden = chans.length > 0;
    syncRows(tbody, items, (i) => (i.partition === undefined ? `c:${i.c.channel}` : `p:${i.c.channel}\u0000${i.partition}`), createChannelRow, updateChannelRow);
  }

  return {
    async refresh() {
      let s;
      try {
        s = await api("GET", topicPath(topic));
      } catch (e) {
        if (e.status !== 404) throw e;
        if (!alive) return;
        missing.hidden = false;
        body.hidden = true;
        return;
      }
      if (!alive) return;
      const at = Date.now();
      observeTopic(s, at);
      stats = s;
      missing.hidden = true;
      body.hidden = false;
      chart.update();
      render();
    },
    unmount() {
      alive = false;
      chart.destroy();
    },
  };
}
