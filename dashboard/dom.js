// DOM helpers shared by the views: an element builder, keyed table rows that are updated
// in place (so a refresh never replaces a row, a button or an input the user is using),
// the page's notice line, the confirmation dialog and number/time formatting.
import { describe } from "./api.js";

export const $ = (id) => document.getElementById(id);

/**
 * h("button", { class: "x", "data-action": "pause", onclick }, "Pause"): attributes whose
 * name starts with "on" are listeners; `false`/null attributes are left out; children may
 * be strings, nodes, arrays or null.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

/** Replaces el's children (the same kinds of children as `h`; null and false are left out). */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/** Sets an element's text only when it changed (no needless DOM work, selection kept). */
export function setText(el, text) {
  const s = String(text ?? "");
  if (el.textContent !== s) el.textContent = s;
}

/**
 * Makes tbody's rows follow `items` in order: a row per key, made once by `create(item)`
 * and brought up to date by `update(row, item)`; rows whose key is gone are removed.
 */
export function syncRows(tbody, items, keyOf, create, update) {
  const old = new Map([...tbody.rows].map((r) => [r.dataset.key, r]));
  let i = 0;
  for (const item of items) {
    const key = keyOf(item);
    let row = old.get(key);
    if (row) old.delete(key);
    else {
      row = create(item);
      row.dataset.key = key;
    }
    update(row, item);
    if (tbody.rows[i] !== row) tbody.insertBefore(row, tbody.rows[i] ?? null);
    i++;
  }
  for (const r of old.values()) r.remove();
}

/** A row of `n` empty cells (the classes name the numeric ones). */
export function row(n, classes = []) {
  const tr = document.createElement("tr");
  for (let i = 0; i < n; i++) tr.insertCell().className = classes[i] ?? "";
  return tr;
}

/** A `<dl>` of stats: `defs` is [[key, label]]; answers { el, set(values) }. */
export function statList(id, defs) {
  const el = h("dl", { id, class: "stats" });
  const dds = new Map();
  for (const [key, label] of defs) {
    const dd = h("dd", { "data-stat": key });
    dds.set(key, dd);
    el.append(h("div", {}, h("dt", {}, label), dd));
  }
  return {
    el,
    set(values) {
      for (const [key, dd] of dds) setText(dd, values[key] ?? "–");
    },
  };
}

let noticeAt = 0;

/** The notice line under the header: the outcome of the last action, errors in red. */
export function notify(text, error = false) {
  noticeAt = Date.now();
  setText($("status-text"), text);
  $("status").classList.toggle("error", error);
  $("status").hidden = !text;
}

/** On opening another page: clears the notice unless an action just set it (and led there). */
export function staleNotice() {
  if (Date.now() - noticeAt > 1500) notify("");
}

/**
 * Runs an action: on success shows `done(result)` (a string; nothing when it answers
 * null), on failure the API's error code and message; answers the result (true for an
 * empty one), or undefined after a failure.
 */
export async function act(what, fn, done = () => what) {
  try {
    const result = await fn();
    const text = done(result);
    if (text) notify(text);
    return result ?? true;
  } catch (e) {
    notify(`${what} failed: ${describe(e)}`, true);
    return undefined;
  }
}

/**
 * A modal confirmation. `typed`: a name the user must type before the button works (for
 * deleting a topic). Answers true when confirmed.
 */
export function confirmDialog({ title, message, confirm = "Confirm", typed }) {
  const d = $("confirm");
  setText($("confirm-title"), title);
  setText($("confirm-message"), message);
  setText($("confirm-ok"), confirm);
  const input = $("confirm-typed");
  $("confirm-typed-label").hidden = !typed;
  setText($("confirm-typed-name"), typed ?? "");
  input.value = "";
  const check = () => ($("confirm-ok").disabled = Boolean(typed) && input.value !== typed);
  input.oninput = check;
  check();
  d.returnValue = "";
  d.showModal();
  if (typed) input.focus();
  return new Promise((resolve) => d.addEventListener("close", () => resolve(d.returnValue === "ok"), { once: true }));
}

const numberFormat = new Intl.NumberFormat("en-US");
export const num = (n) => (typeof n === "number" ? numberFormat.format(n) : n ?? "–");
export const rate = (r) => (typeof r === "number" ? r.toFixed(1) : "–");
export const time = (ms) => (ms ? new Date(ms).toLocaleString() : "–");
export const json = (v) => JSON.stringify(v, null, 2);

/** A JSON value as a scrollable block. */
export const jsonBlock = (v, cls = "json") => h("pre", { class: cls }, json(v));

/** "a, b" -> ["a", "b"]; empty -> undefined (the API's default). */
export function list(text) {
  const items = text.split(/[\s,]+/).filter(Boolean);
  return items.length ? items : undefined;
}
