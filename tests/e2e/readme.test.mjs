// The README runs as pasted: every shell snippet, in order, against a fresh Worker with
// anonymous access off (as on a deployment), with `URL` and `AUTH` (the admin token
// header) set as its quick start says. A snippet fails the test if any command fails:
// curl exits non-zero on an HTTP error here (`-f`), so a 401/403/404 is caught.
// A snippet is skipped only with a `<!-- readme-test: skip (why) -->` line before it;
// `<!-- readme-test: needs client billing -->` makes the client first and sets SECRET.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { startWorker, call, ADMIN_TOKEN } from "./harness.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** The README's shell snippets, in order, with the marker before each (if any). */
function snippets() {
  const out = [];
  const re = /(?:<!-- readme-test: ([^>]*?) -->\n)?```(?:sh|bash|shell)\n([\s\S]*?)```/g;
  for (const m of README.matchAll(re)) {
    const line = README.slice(0, m.index).split("\n").length;
    out.push({ line, marker: m[1] ?? "", code: m[2] });
  }
  return out;
}

let w;
before(async () => {
  w = await startWorker({ vars: { ALLOW_ANONYMOUS: "false" } });
});
after(async () => {
  await w?.destroy();
});

test("every shell snippet of the README runs as pasted, in order, with anonymous access off", async () => {
  const all = snippets();
  assert.ok(all.length >= 12, `found ${all.length} snippets`);
  const env = { ...process.env, URL: w.url, AUTH: `authorization: Bearer ${ADMIN_TOKEN}` };
  let ran = 0;
  for (const s of all) {
    if (s.marker.startsWith("skip")) {
      assert.match(s.marker, /^skip \(.+\)$/, `line ${s.line}: a skip says why`);
      continue;
    }
    if (s.marker === "needs client billing") {
      const r = await call(w.url, "POST", "/v1/clients", {
        body: { login: "billing", publish: ["orders*"], subscribe: ["orders*"] },
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      assert.ok([201, 409].includes(r.status), r.text);
      if (r.status === 201) env.SECRET = r.body.secret;
    } else {
      assert.equal(s.marker, "", `line ${s.line}: unknown marker ${s.marker}`);
    }
    // curl fails on HTTP errors (and says why) while the snippet is run.
    const prelude = 'set -euo pipefail\ncurl() { command curl -fsS --max-time 60 "$@"; echo; }\n';
    const r = spawnSync("bash", ["-c", prelude + s.code], { cwd: ROOT, env, encoding: "utf8", timeout: 120_000 });
    assert.equal(r.status, 0, `README line ${s.line} failed:\n${s.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    ran++;
  }
  assert.ok(ran >= 10, `ran ${ran} snippets`);
});
