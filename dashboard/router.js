// Hash routes, so every page has a link and back/forward work without a server:
//   #/topics?q=ord&page=2&size=20&sort=dead   the topic list (search, page, sort)
//   #/topics/{topic}                           a topic
//   #/topics/{topic}/channels/{channel}        a channel
//   #/clients                                  clients
// Names are percent-encoded segments (`c%23ephemeral` for `c#ephemeral`).

const enc = encodeURIComponent;

function decode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The route of a location hash. */
export function parse(hash = location.hash) {
  const raw = hash.replace(/^#/, "");
  const [path, query = ""] = raw.split("?", 2);
  const parts = path.split("/").filter(Boolean).map(decode);
  const q = new URLSearchParams(query);
  if (parts[0] === "clients") return { view: "clients" };
  if (parts[0] === "topics" && parts.length >= 4 && parts[2] === "channels")
    return { view: "channel", topic: parts[1], channel: parts[3] };
  if (parts[0] === "topics" && parts.length >= 2) return { view: "topic", topic: parts[1] };
  return {
    view: "topics",
    q: q.get("q") ?? "",
    page: Math.max(1, Number(q.get("page")) || 1),
    size: Number(q.get("size")) || 0,
    sort: q.get("sort") ?? "",
  };
}

/** The hash of a route. */
export function href(r) {
  switch (r.view) {
    case "clients":
      return "#/clients";
    case "topic":
      return `#/topics/${enc(r.topic)}`;
    case "channel":
      return `#/topics/${enc(r.topic)}/channels/${enc(r.channel)}`;
    default: {
      const q = new URLSearchParams();
      if (r.q) q.set("q", r.q);
      if (r.page > 1) q.set("page", String(r.page));
      if (r.size) q.set("size", String(r.size));
      if (r.sort) q.set("sort", r.sort);
      const s = q.toString();
      return `#/topics${s ? `?${s}` : ""}`;
    }
  }
}

/** The identity of a page: a route change within one page (the list's search) keeps it. */
export const pageKey = (r) => JSON.stringify([r.view, r.topic ?? null, r.channel ?? null]);

/** Goes to a route (a new history entry), or rewrites the current one (`replace`). */
export function go(r, { replace = false } = {}) {
  const target = href(r);
  if (location.hash === target) return;
  if (replace) history.replaceState(null, "", target);
  else location.hash = target;
}
