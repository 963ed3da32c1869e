// The form that makes a channel on a topic page: PUT /v1/topics/{t}/channels/{c} with
// from_seq, a filter (JSON) and push settings. The answer of a PUT that made a push
// channel is the only place its signing secret ever appears: it is shown once, in the
// panel under the form, and forgotten when the panel is dismissed or the page left.

import { api, channelPath, describe } from "./api.js";
import { h, fill, notify, jsonBlock } from "./dom.js";
import { href } from "./router.js";

const field = (id, label, attrs = {}) => h("label", {}, `${label} `, h("input", { id, ...attrs }));

/** "Name: value" lines -> { Name: value }. */
function parseHeaders(text) {
  const out = {};
  for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const i = line.indexOf(":");
    if (i <= 0) throw new Error(`header line "${line}" is not "Name: value"`);
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

/** The form and its result panel for topic `topic`; `onCreated()` refreshes the page. */
export function channelForm(topic, onCreated) {
  const $f = (id) => form.querySelector(`#${id}`);
  const filter = h("textarea", { id: "new-filter", rows: 2, placeholder: '{"prefix": {"type": "order."}}  (optional, CloudEvents Subscriptions API filter)' });
  const headers = h("textarea", { id: "push-headers", rows: 2, placeholder: "Authorization: Bearer …  (one header per line)" });
  const push = h("fieldset", { id: "push-fields", disabled: true },
    h("legend", {}, h("label", {}, h("input", { id: "new-push", type: "checkbox", onchange: (e) => (push.disabled = !e.target.checked) }), " Push channel (POST each message to a URL)")),
    field("push-url", "URL", { type: "url", placeholder: "https://example.com/hook", required: true, size: 40 }),
    h("label", { class: "block" }, "Headers ", headers),
    field("push-max-in-flight", "max_in_flight", { type: "number", min: 1, max: 100, placeholder: "10" }),
    field("push-timeout-ms", "timeout_ms", { type: "number", min: 1000, max: 120000, placeholder: "30000" }),
    field("push-max-attempts", "max_attempts", { type: "number", min: 0, placeholder: "0 (never dead)" }),
    field("push-retry-ms", "retry_ms", { type: "number", min: 1, max: 600000, placeholder: "1000" }),
  );
  // (The checkbox in the legend stays usable while the fieldset is disabled.)
  const form = h("form", { id: "create-channel", onsubmit: (ev) => submit(ev) },
    h("div", { class: "inline" },
      field("new-channel", "Name", { required: true, pattern: "[A-Za-z0-9._\\-\\[\\]]{1,128}(#ephemeral)?", placeholder: "name or name#ephemeral" }),
      field("from-seq", "from seq", { type: "number", min: 1, placeholder: "next" })),
    h("label", { class: "block" }, "Filter ", filter),
    push,
    h("button", { type: "submit" }, "Create channel"),
  );
  const panel = h("div", { id: "created", class: "panel", hidden: true });

  async function submit(ev) {
    ev.preventDefault();
    const name = $f("new-channel").value.trim();
    const body = {};
    try {
      if ($f("from-seq").value) body.from_seq = Number($f("from-seq").value);
      if (filter.value.trim()) body.filter = JSON.parse(filter.value);
      if ($f("new-push").checked) {
        body.push = { url: $f("push-url").value.trim() };
        const hs = parseHeaders(headers.value);
        if (Object.keys(hs).length) body.push.headers = hs;
        for (const [id, k] of [["push-max-in-flight", "max_in_flight"], ["push-timeout-ms", "timeout_ms"], ["push-max-attempts", "max_attempts"], ["push-retry-ms", "retry_ms"]])
          if ($f(id).value !== "") body.push[k] = Number($f(id).value);
      }
    } catch (e) {
      return notify(`create ${name}@${topic} failed: ${e instanceof SyntaxError ? `the filter is not JSON (${e.message})` : e.message}`, true);
    }
    let stats;
    try {
      stats = await api("PUT", channelPath(topic, name), body);
    } catch (e) {
      return notify(`create ${name}@${topic} failed: ${describe(e)}`, true);
    }
    const secret = stats?.push?.secret;
    notify(secret ? `created push channel ${name}@${topic}` : `created ${name}@${topic} (${stats?.ready ?? 0} ready)`);
    showResult(name, body, secret);
    form.reset();
    push.disabled = true;
    onCreated();
  }

  function showResult(name, body, secret) {
    fill(panel,
      h("p", {}, "Channel ", h("a", { href: href({ view: "channel", topic, channel: name }) }, `${name}@${topic}`), " is ready."),
      body.filter !== undefined ? h("div", {}, h("p", {}, "Its filter:"), jsonBlock(body.filter)) : null,
      secret
        ? h("div", { class: "secret", id: "push-secret-box" },
            h("p", {}, h("strong", {}, "Signing secret, shown only this once: "), "copy it to the receiver now (it verifies the webhook-signature header with it)."),
            h("code", { id: "push-secret" }, secret), " ",
            h("button", { type: "button", onclick: () => navigator.clipboard?.writeText(secret).then(() => notify("secret copied"), () => notify("copy failed: select the text instead", true)) }, "Copy"))
        : null,
      h("button", { type: "button", id: "created-dismiss", onclick: () => ((panel.hidden = true), panel.replaceChildren()) }, "Dismiss"),
    );
    panel.hidden = false;
  }

  return h("section", {}, h("h3", {}, "New channel"), form, panel);
}
