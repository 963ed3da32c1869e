// A Worker that uses the package as a user's Worker would (bundled by wrangler, the
// `workerd` export condition, both wasm modules imported): GET /?url=&token=&topic= runs
// the smoke program against a bus and answers its result.
import { smoke } from "../smoke.mjs";

export default {
  async fetch(request) {
    const q = new URL(request.url).searchParams;
    try {
      const r = await smoke(q.get("url"), q.get("token"), q.get("topic"));
      return Response.json({ runtime: "workerd", ...r });
    } catch (e) {
      return Response.json({ error: String(e?.stack ?? e) }, { status: 500 });
    }
  },
};
