// Reads and writes what a topic object stores, for tests: started on a stopped Worker's
// persist directory with the same class name, it lists the tables of the object named
// `?name=` (GET), or runs SQL statements in it (POST `[[sql, ...bindings], ...]`; answers
// each statement's rows), e.g. to lay out storage as an earlier version wrote it.
import { DurableObject } from "cloudflare:workers";

export class Topic extends DurableObject {
  async fetch(req) {
    const sql = this.ctx.storage.sql;
    if (req.method === "POST") {
      const statements = await req.json();
      return Response.json(statements.map(([q, ...bindings]) => sql.exec(q, ...bindings).toArray()));
    }
    const tables = sql
      .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%'")
      .toArray()
      .map((r) => r.name);
    const rows = tables.includes("meta") ? sql.exec("SELECT count(*) AS n FROM meta").one().n : 0;
    return Response.json({ tables, meta_rows: rows });
  }
}

export default {
  fetch(req, env) {
    const name = new URL(req.url).searchParams.get("name");
    return env.TOPIC.get(env.TOPIC.idFromName(name)).fetch(req);
  },
};
