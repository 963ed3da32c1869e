// Rate series and their uPlot charts. Every chart shows a fixed recent window (the last
// WINDOW_S seconds, ending now): the first sample appears at the right edge and the line
// grows leftwards, so one sample never stretches the time axis over years. A gap in the
// polling (more than GAP_MS without a sample of a topic) breaks the line instead of
// drawing a made-up average across it. Rates are differences of the stats counters
// between two polls.
/* global uPlot */

export const WINDOW_S = 300;
const GAP_MS = 30_000;
const store = new Map(); // key -> { t: [], a: [], b: [] }

/** The charts on the page by element id, for people and tests poking at them. */
window.ismld = Object.assign(window.ismld ?? {}, { charts: {}, windowSeconds: WINDOW_S });

function push(key, t, a, b) {
  let s = store.get(key);
  if (!s) store.set(key, (s = { t: [], a: [], b: [] }));
  s.t.push(t);
  s.a.push(a);
  s.b.push(b);
  const cut = t - WINDOW_S - 30;
  while (s.t.length && s.t[0] < cut) for (const k of ["t", "a", "b"]) s[k].shift();
}

const series = (key) => store.get(key) ?? { t: [], a: [], b: [] };

// ---- rates from counters -------------------------------------------------------------

const last = new Map(); // topic -> { at, seq, ch: Map(channel -> { del, fin }) }
const rates = new Map(); // topic -> { published, finished, channels: Map(c -> { delivered, finished }) }
let bus = null; // { at } of the last whole-bus poll

/** One topic's stats (list entry or GET /v1/topics/{t}) seen at `at` ms: feeds its series. */
export function observeTopic(t, at) {
  const chans = t.channel_stats ?? t.channels ?? [];
  const now = { at, seq: t.seq, ch: new Map(chans.map((c) => [c.channel, { del: c.delivered_total, fin: c.finished_total }])) };
  const before = last.get(t.topic);
  last.set(t.topic, now);
  if (!before || at - before.at > GAP_MS || at <= before.at) {
    if (before) {
      push(`topic:${t.topic}`, at / 1000, null, null);
      for (const c of now.ch.keys()) push(`channel:${t.topic}\u0000${c}`, at / 1000, null, null);
    }
    rates.delete(t.topic);
    return null;
  }
  const dt = (at - before.at) / 1000;
  const d = (x, y) => Math.max(0, x - y) / dt;
  const r = { published: d(now.seq, before.seq), finished: 0, channels: new Map() };
  for (const [c, v] of now.ch) {
    const b = before.ch.get(c);
    if (!b) continue;
    const cr = { delivered: d(v.del, b.del), finished: d(v.fin, b.fin) };
    r.channels.set(c, cr);
    r.finished += cr.finished;
    push(`channel:${t.topic}\u0000${c}`, at / 1000, cr.delivered, cr.finished);
  }
  push(`topic:${t.topic}`, at / 1000, r.published, r.finished);
  rates.set(t.topic, r);
  return r;
}

/** The whole list (GET /v1/topics?stats=true) seen at `at`: the bus series too. */
export function observeBus(topics, at) {
  let published = 0;
  let finished = 0;
  for (const t of topics) {
    const r = observeTopic(t, at);
    if (r) {
      published += r.published;
      finished += r.finished;
    }
  }
  if (bus && at - bus.at <= GAP_MS) push("bus", at / 1000, published, finished);
  else if (bus) push("bus", at / 1000, null, null);
  bus = { at };
}

export const rateOf = (topic) => rates.get(topic);

// ---- charts --------------------------------------------------------------------------

const COLORS = ["#0969da", "#1a7f37"];
const cap = (s) => s[0].toUpperCase() + s.slice(1);

/**
 * A chart of series `key` in `el` with two lines named `names` (e.g. ["published",
 * "finished"]). `update()` redraws with the current window; the element carries
 * data-samples, data-max-{name}, data-x-min / data-x-max (seconds) and data-x-labels
 * (the time axis's labels, "|"-separated) for tests.
 */
export function mountChart(el, key, names) {
  const xRange = () => {
    const now = Date.now() / 1000;
    return [now - WINDOW_S, now];
  };
  const yRange = (u, min, max) => [0, Math.max(1, Number.isFinite(max) ? max * 1.15 : 1)];
  // Clock times (the window is minutes long: no dates, no years).
  const xLabels = (splits) => {
    const labels = splits.map((v) => new Date(v * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }));
    el.dataset.xLabels = labels.join("|");
    return labels;
  };
  const width = () => Math.max(320, el.clientWidth || 800);
  const u = new uPlot(
    {
      width: width(),
      height: 200,
      padding: [12, 36, 0, 0], // room for the last time label at the right edge
      scales: { x: { time: true, auto: false, range: xRange }, y: { range: yRange } },
      series: [{}, ...names.map((n, i) => ({ label: `${n}/s`, stroke: COLORS[i], width: 2, spanGaps: false }))],
      axes: [{ space: 70, values: (u, splits) => xLabels(splits) }, { label: "events/s", size: 60 }],
      hooks: {
        draw: [
          (u) => {
            el.dataset.xMin = String(u.scales.x.min);
            el.dataset.xMax = String(u.scales.x.max);
          },
        ],
      },
    },
    [[], [], []],
    el,
  );
  window.ismld.charts[el.id] = u;
  const observer = new ResizeObserver(() => {
    if (width() !== u.width) u.setSize({ width: width(), height: 200 });
  });
  observer.observe(el);
  const handle = {
    update() {
      const s = series(key);
      u.setData([s.t, s.a, s.b], false);
      u.setScale("x", (([min, max]) => ({ min, max }))(xRange()));
      el.dataset.samples = String(s.a.filter((v) => v !== null).length);
      names.forEach((n, i) => {
        const vals = (i ? s.b : s.a).filter((v) => v !== null);
        el.dataset[`max${cap(n)}`] = String(Math.max(0, ...vals));
      });
    },
    destroy() {
      observer.disconnect();
      u.destroy();
      if (window.ismld.charts[el.id] === u) delete window.ismld.charts[el.id];
    },
  };
  handle.update();
  return handle;
}
