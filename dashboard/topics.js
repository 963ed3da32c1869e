// The topic list: the whole bus's rate chart, a searchable, sortable, paged table of
// topics (GET /v1/topics?stats=true, which has no paging of its own: the page filters and
// pages what it gets), and a form to make a (partitioned) topic. The search, page, page
// size and sort live in the hash (#/topics?q=...&page=...), so a filtered page is a link.
import { api, topicPath } from "./api.js";
import { h, setText, syncRows, row, act, num, rate } from "./dom.js";
import { observeBus, rateOf, mountChart } from "./charts.js";
import { go, href } from "./router.js";

const SIZES = [10, 20, 50, 100];
const COLUMNS = [
  // [sort key, header, value of a topic]
  ["name", "Topic", (t) => t.topic],
  ["partitions", "Partitions", (t) => t.partitions ?? 1],
  ["seq", "Seq", (t) => t.seq],
  ["retained", "Retained", (t) => t.retained ?? 0],
  ["channels", "Channels", (t) => t.channels.length],
  ["depth", "Depth", (t) => sum(t, "depth")],
  ["in_flight", "In flight", (t) => sum(t, "in_flight")],
  ["dead", "Dead", (t) => sum(t, "dead")],
  ["rate", "Published/s", (t) => rateOf(t.topic)?.published ?? 0],
];
const sum = (t, k) => (t.channel_stats ?? []).reduce((n, c) => n + c[k], 0);

export function topicsView(el, route, ctx) {
  let state = { ...route, size: SIZES.includes(route.size) ? route.size : 20 };
  let topics = null;
  let alive = true;

  const search = h("input", {
    id: "topic-search",
    type: "search",
    placeholder: "Search topics by name",
    "aria-label": "Search topics",
    value: state.q,
    oninput: () => update({ q: search.value, page: 1 }, true),
  });
  const size = h(
    "select",
    { id: "page-size", onchange: () => update({ size: Number(size.value), page: 1 }) },
    SIZES.map((n) => h("option", { value: n, selected: n === state.size }, `${n} per page`)),
  );
  const headers = COLUMNS.map(([key, label]) =>
    h("th", {}, h("button", { type: "button", class: "sort", "data-sort": key, onclick: () => sortBy(key) }, label)),
  );
  const tbody = h("tbody");
  const empty = h("p", { id: "no-topics", hidden: true });
  const prev = h("button", { type: "button", id: "prev-page", onclick: () => update({ page: state.page - 1 }) }, "‹ Previous");
  const next = h("button", { type: "button", id: "next-page", onclick: () => update({ page: state.page + 1 }) }, "Next ›");
  const info = h("span", { id: "page-info" });
  const count = h("small", { id: "topic-count" });
  const chartEl = h("div", { id: "overview-chart", class: "chart" });

  const name = h("input", { id: "new-topic", required: true, pattern: "[A-Za-z0-9._\\-\\[\\]]{1,128}", placeholder: "name" });
  const parts = h("input", { id: "new-topic-partitions", type: "number", min: 1, max: 64, placeholder: "1" });
  const create = h(
    "form",
    { id: "create-topic", class: "inline", onsubmit: (ev) => createTopic(ev) },
    h("label", {}, "Name ", name),
    h("label", {}, "Partitions ", parts),
    h("button", { type: "submit" }, "Create topic"),
  );

  el.append(
    h("section", {}, h("h2", {}, "All topics ", h("small", {}, "events per second, last 5 minutes")), chartEl),
    h(
      "section",
      {},
      h("h2", {}, "Topics ", count),
      h("div", { class: "toolbar" }, search, size),
      h("table", { id: "topics", class: "data" }, h("thead", {}, h("tr", {}, headers)), tbody),
      empty,
      h("nav", { class: "pager" }, prev, info, next),
    ),
    h("section", {}, h("h3", {}, "New topic"), create, h("p", { class: "hint" }, "Topics are also made by their first publish or channel (with one partition). The partition count is fixed for the topic's life.")),
  );
  const chart = mountChart(chartEl, "bus", ["published", "finished"]);

  /** A header click: numbers sort largest first, then smallest first; names A-Z, then Z-A. */
  function sortBy(key) {
    const cur = state.sort || "name";
    const s = cur === key ? `-${key}` : cur === `-${key}` ? key : key === "name" ? "name" : `-${key}`;
    update({ sort: s === "name" ? "" : s, page: 1 });
  }

  /**
   * Applies a change of search/page/size/sort to the hash and the table: typing rewrites
   * the current history entry, a page, size or sort change makes a new one (back undoes it).
   */
  function update(change, replace = false) {
    state = { ...state, ...change };
    go({ view: "topics", ...state, size: state.size === 20 ? 0 : state.size }, { replace });
    render();
  }

  function sorted(list) {
    const desc = state.sort.startsWith("-");
    const key = state.sort.replace(/^-/, "") || "name";
    const col = COLUMNS.find((c) => c[0] === key) ?? COLUMNS[0];
    const val = col[2];
    const cmp = key === "name" ? (a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0) : (a, b) => val(a) - val(b) || (a.topic < b.topic ? -1 : 1);
    return [...list].sort(desc ? (a, b) => cmp(b, a) : cmp);
  }

  function render() {
    for (const th of headers) {
      const b = th.firstChild;
      const key = state.sort.replace(/^-/, "") || "name";
      th.setAttribute("aria-sort", b.dataset.sort === key ? (state.sort.startsWith("-") ? "descending" : "ascending") : "none");
    }
    if (!topics) return;
    const q = state.q.trim().toLowerCase();
    const matching = sorted(q ? topics.filter((t) => t.topic.toLowerCase().includes(q)) : topics);
    const pages = Math.max(1, Math.ceil(matching.length / state.size));
    const page = Math.min(Math.max(1, state.page), pages);
    const shown = matching.slice((page - 1) * state.size, page * state.size);
    setText(count, q ? `${matching.length} of ${topics.length} match “${state.q.trim()}”` : `${topics.length}`);
    empty.hidden = matching.length > 0;
    setText(empty, topics.length ? "No topic matches the search." : "No topics yet: publish an event or make a channel to create one.");
    setText(info, `page ${page} of ${pages}`);
    info.dataset.page = String(page);
    info.dataset.pages = String(pages);
    prev.disabled = page <= 1;
    next.disabled = page >= pages;
    syncRows(tbody, shown, (t) => t.topic, createRow, updateRow);
  }

  function createRow(t) {
    const tr = row(COLUMNS.length, ["", "partitions"]);
    tr.dataset.topic = t.topic;
    tr.cells[0].append(h("a", { href: href({ view: "topic", topic: t.topic }) }, t.topic));
    tr.addEventListener("click", (ev) => {
      if (ev.target.closest("a")) return;
      go({ view: "topic", topic: t.topic });
    });
    return tr;
  }

  function updateRow(tr, t) {
    COLUMNS.forEach(([key, , val], i) => {
      if (i === 0) return;
      setText(tr.cells[i], key === "rate" ? rate(rateOf(t.topic)?.published) : num(val(t)));
    });
    tr.cells[7].classList.toggle("warn", sum(t, "dead") > 0);
  }

  async function createTopic(ev) {
    ev.preventDefault();
    const topic = name.value.trim();
    const body = parts.value ? { partitions: Number(parts.value) } : {};
    const done = await act(`create topic ${topic}`, () => api("PUT", topicPath(topic), body), (r) => `topic ${r.topic} has ${r.partitions} partition${r.partitions === 1 ? "" : "s"}`);
    if (done) {
      name.value = "";
      parts.value = "";
      go({ view: "topic", topic });
    }
  }

  return {
    route(r) {
      // Back/forward within the list: take the hash's search and page.
      state = { ...state, ...r, size: SIZES.includes(r.size) ? r.size : 20 };
      if (search.value !== state.q) search.value = state.q;
      size.value = String(state.size);
      render();
    },
    async refresh() {
      const { topics: list } = await api("GET", "/v1/topics?stats=true");
      if (!alive) return;
      observeBus(list, Date.now());
      topics = list;
      chart.update();
      render();
    },
    unmount() {
      alive = false;
      chart.destroy();
    },
  };
}
