#!/usr/bin/env node
// The ismld command line: client administration and browser tokens.
//
//   ismld clients add <login> [--publish 'orders.*,audit'] [--subscribe '*']
//   ismld clients list | rotate <login> | remove <login>
//   ismld token --login <login> --secret <secret> [--ttl 3600]
//
// Every command takes --url (or ISMLD_URL, default http://127.0.0.1:8787); client
// commands take --admin-token (or ISMLD_ADMIN_TOKEN). --json prints the raw answer.

import { parseArgs } from "node:util";
import process from "node:process";

const USAGE = `usage:
  ismld clients add <login> [--publish PATTERNS] [--subscribe PATTERNS]
  ismld clients list
  ismld clients rotate <login>
  ismld clients remove <login>
  ismld token --login LOGIN --secret SECRET [--ttl SECONDS]
options:
  --url URL            bus URL (env ISMLD_URL, default http://127.0.0.1:8787)
  --admin-token TOKEN  admin token (env ISMLD_ADMIN_TOKEN)
  --json               print the server's JSON answer
PATTERNS are comma-separated topic patterns; * matches any run of characters (default *).`;

function fail(message, code = 2) {
  process.stderr.write(`ismld: ${message}\n`);
  process.exit(code);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: "string" },
      "admin-token": { type: "string" },
      publish: { type: "string" },
      subscribe: { type: "string" },
      login: { type: "string" },
      secret: { type: "string" },
      ttl: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
} catch (e) {
  fail(`${e.message}\n${USAGE}`);
}
const { values: opt, positionals: args } = parsed;
if (opt.help || args.length === 0) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(opt.help ? 0 : 2);
}

const url = (opt.url ?? process.env.ISMLD_URL ?? "http://127.0.0.1:8787").replace(/\/$/, "");
const patterns = (text) => (text === undefined ? undefined : text.split(",").map((p) => p.trim()).filter(Boolean));

async function request(method, path, { body, auth } = {}) {
  let res;
  try {
    res = await fetch(url + path, {
      method,
      headers: { ...(body ? { "content-type": "application/json" } : {}), ...(auth ? { authorization: auth } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (e) {
    fail(`cannot reach ${url}: ${e.cause?.message ?? e.message}`, 1);
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { raw: text };
  }
  if (!res.ok) fail(`${res.status} ${json.error?.code ?? ""}: ${json.error?.message ?? text}`, 1);
  return json;
}

function adminAuth() {
  const token = opt["admin-token"] ?? process.env.ISMLD_ADMIN_TOKEN;
  if (!token) fail("client commands need --admin-token or ISMLD_ADMIN_TOKEN");
  return `Bearer ${token}`;
}

function print(json, human) {
  process.stdout.write(opt.json ? `${JSON.stringify(json, null, 2)}\n` : `${human}\n`);
}

const [group, verb, name] = args;
if (group === "clients") {
  const auth = adminAuth();
  if (verb === "add" && name) {
    const r = await request("POST", "/v1/clients", {
      auth,
      body: { login: name, publish: patterns(opt.publish), subscribe: patterns(opt.subscribe) },
    });
    print(r, `created client ${r.login}\nsecret: ${r.secret}\n(shown once: store it now; only its hash is kept)`);
  } else if (verb === "list") {
    const r = await request("GET", "/v1/clients", { auth });
    const lines = r.clients.map((c) => `${c.login}\tpublish=${c.publish.join(",")}\tsubscribe=${c.subscribe.join(",")}\t${c.created}`);
    print(r, lines.length ? lines.join("\n") : "no clients");
  } else if (verb === "rotate" && name) {
    const r = await request("POST", `/v1/clients/${encodeURIComponent(name)}/secret`, { auth });
    print(r, `new secret for ${r.login}: ${r.secret}\n(the old secret and its tokens stop working)`);
  } else if (verb === "remove" && name) {
    await request("DELETE", `/v1/clients/${encodeURIComponent(name)}`, { auth });
    print({ removed: name }, `removed client ${name}`);
  } else {
    fail(USAGE);
  }
} else if (group === "token") {
  if (!opt.login || !opt.secret) fail("token needs --login and --secret");
  const basic = `Basic ${Buffer.from(`${opt.login}:${opt.secret}`).toString("base64")}`;
  const body = opt.ttl === undefined ? {} : { ttl_s: Number(opt.ttl) };
  const r = await request("POST", "/v1/tokens", { auth: basic, body });
  print(r, opt.json ? "" : `${r.token}`);
} else {
  fail(USAGE);
}
