// Clients (#/clients): the list (GET /v1/clients: login, publish and subscribe patterns,
// created), adding one (POST /v1/clients), rotating its secret (POST
// /v1/clients/{login}/secret) and removing it (DELETE /v1/clients/{login}). A secret
// exists in the page only in the panel that shows it once, until dismissed or left.
import { api, clientPath } from "./api.js";
import { h, setText, syncRows, row, act, confirmDialog, notify, list } from "./dom.js";

export function clientsView(el, route, ctx) {
  let alive = true;
  const tbody = h("tbody");
  const empty = h("p", { id: "no-clients", hidden: true }, "No clients yet: only the admin token (and anonymous callers, when ALLOW_ANONYMOUS is on) can use the bus.");
  const login = h("input", { id: "client-login", required: true, pattern: "[A-Za-z0-9._\\-\\[\\]]{1,128}", placeholder: "login" });
  const pub = h("input", { id: "client-publish", placeholder: "* (every topic)", size: 24 });
  const sub = h("input", { id: "client-subscribe", placeholder: "* (every topic)", size: 24 });
  const secretBox = h("div", { id: "client-secret", class: "panel secret", hidden: true });

  el.append(
    h("h2", {}, "Clients ", h("small", { id: "client-count" })),
    h("p", { class: "hint" }, "Clients authenticate with Basic login:secret, or with a token from POST /v1/tokens. Their publish and subscribe patterns name the topics they may use (* matches any run of characters)."),
    secretBox,
    h("table", { id: "clients", class: "data" }, h("thead", {}, h("tr", {}, ["Login", "Publish", "Subscribe", "Created", ""].map((x) => h("th", {}, x)))), tbody),
    empty,
    h("section", {}, h("h3", {}, "New client"),
      h("form", { id: "add-client", class: "inline", onsubmit: (ev) => add(ev) },
        h("label", {}, "Login ", login),
        h("label", {}, "Publish ", pub),
        h("label", {}, "Subscribe ", sub),
        h("button", { type: "submit" }, "Add client")),
      h("p", { class: "hint" }, "Patterns are separated by commas or spaces; empty means * (every topic).")),
  );

  /** The panel that shows a new secret, once. */
  function showSecret(who, secret, what) {
    secretBox.replaceChildren(
      h("p", {}, h("strong", {}, `${what} secret of ${who}, shown only this once: `), "copy it now; the bus keeps only its hash."),
      h("code", { id: "secret-value", "data-login": who }, secret), " ",
      h("button", { type: "button", onclick: () => navigator.clipboard?.writeText(secret).then(() => notify("secret copied"), () => notify("copy failed: select the text instead", true)) }, "Copy"), " ",
      h("button", { type: "button", id: "secret-dismiss", onclick: () => ((secretBox.hidden = true), secretBox.replaceChildren()) }, "Dismiss"),
    );
    secretBox.hidden = false;
  }

  async function add(ev) {
    ev.preventDefault();
    const body = { login: login.value.trim() };
    const p = list(pub.value);
    const s = list(sub.value);
    if (p) body.publish = p;
    if (s) body.subscribe = s;
    const r = await act(`add client ${body.login}`, () => api("POST", "/v1/clients", body), (r) => `added client ${r.login}`);
    if (!r) return;
    showSecret(r.login, r.secret, "The");
    login.value = pub.value = sub.value = "";
    await ctx.refresh();
  }

  async function rotate(who) {
    const ok = await confirmDialog({ title: `Rotate the secret of ${who}?`, message: "The old secret and every token issued with it stop working (within about a minute, the credential cache's lifetime).", confirm: "Rotate secret" });
    if (!ok) return;
    const r = await act(`rotate the secret of ${who}`, () => api("POST", `${clientPath(who)}/secret`), () => `rotated the secret of ${who}`);
    if (r) showSecret(r.login, r.secret, "The new");
  }

  async function remove(who) {
    const ok = await confirmDialog({ title: `Remove client ${who}?`, message: "Its secret and tokens stop working (within about a minute); open sockets of it are closed.", confirm: "Remove client" });
    if (!ok) return;
    if (await act(`remove client ${who}`, () => api("DELETE", clientPath(who)), () => `removed client ${who}`)) {
      if (secretBox.querySelector(`[data-login="${CSS.escape(who)}"]`)) secretBox.hidden = true;
      await ctx.refresh();
    }
  }

  function createRow(c) {
    const tr = row(5, ["", "", "", "", "actions"]);
    tr.dataset.login = c.login;
    tr.cells[4].append(
      h("button", { type: "button", "data-action": "rotate", onclick: () => rotate(c.login) }, "Rotate secret"),
      h("button", { type: "button", "data-action": "remove", class: "danger", onclick: () => remove(c.login) }, "Remove"),
    );
    return tr;
  }

  function updateRow(tr, c) {
    setText(tr.cells[0], c.login);
    setText(tr.cells[1], (c.publish ?? []).join(", ") || "none");
    setText(tr.cells[2], (c.subscribe ?? []).join(", ") || "none");
    setText(tr.cells[3], c.created ? new Date(c.created).toLocaleString() : "–");
    tr.cells[3].title = c.created ?? "";
  }

  return {
    async refresh() {
      const { clients } = await api("GET", "/v1/clients");
      if (!alive) return;
      setText(el.querySelector("#client-count"), String(clients.length));
      empty.hidden = clients.length > 0;
      syncRows(tbody, clients, (c) => c.login, createRow, updateRow);
    },
    unmount() {
      alive = false;
    },
  };
}
