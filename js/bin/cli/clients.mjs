// `ismld clients add | list | rotate | remove` (admin) and `ismld token` (a client's
// login and secret), on `bus.admin`.

import { clientCredentials, int, parse, UsageError } from "./args.mjs";
import { open } from "./bus.mjs";
import { Output, table } from "./output.mjs";

const patterns = (text) => (text === undefined ? undefined : String(text).split(",").map((p) => p.trim()).filter(Boolean));

/** What `add` and `rotate` print: the founding document's words, the secret on its own line. */
function secretText(sentence, secret) {
  return `ismld: ${sentence} Keep generated client secret:\n\n${secret}`;
}

export async function run(command, argv) {
  return command === "token" ? token(argv) : clients(argv);
}

async function clients(argv) {
  const { opt, args } = parse(argv, { publish: { type: "string" }, subscribe: { type: "string" } }, { command: "clients", min: 1, max: 2 });
  const [verb, login] = args;
  const needsLogin = { add: true, rotate: true, remove: true, list: false };
  if (!(verb in needsLogin)) throw new UsageError(`clients: unknown subcommand '${verb}' (add, list, rotate, remove)`, "clients");
  if (needsLogin[verb] && !login) throw new UsageError(`clients ${verb} needs a login`, "clients");
  if (!needsLogin[verb] && login) throw new UsageError(`clients ${verb}: unexpected argument '${login}'`, "clients");
  if (verb !== "add" && (opt.publish !== undefined || opt.subscribe !== undefined)) {
    throw new UsageError(`clients ${verb}: --publish and --subscribe are for 'clients add'`, "clients");
  }
  const out = new Output(opt.json);
  const { bus } = await open(opt, "clients", { admin: true });
  const admin = bus.admin;
  if (verb === "add") {
    const r = await admin.createClient(login, { publish: patterns(opt.publish), subscribe: patterns(opt.subscribe) });
    await out.result(r, secretText(`New client with login='${r.login}' created.`, r.secret));
  } else if (verb === "rotate") {
    const r = await admin.rotateSecret(login);
    await out.result(r, secretText(`New secret for login='${r.login}'; the old secret and its tokens stop working.`, r.secret));
  } else if (verb === "remove") {
    await admin.deleteClient(login);
    await out.result({ login, removed: true }, `ismld: Client login='${login}' removed; its secret and tokens stop working within 60 s.`);
  } else {
    const list = await admin.clients();
    const created = (c) => (typeof c.created === "number" ? new Date(c.created).toISOString() : c.created);
    const rows = [["LOGIN", "PUBLISH", "SUBSCRIBE", "CREATED"], ...list.map((c) => [c.login, c.publish.join(","), c.subscribe.join(","), created(c)])];
    await out.list({ clients: list }, list.length && table(rows), "No clients.");
  }
}

async function token(argv) {
  const { opt } = parse(argv, { ttl: { type: "string" } }, { command: "token", max: 0 });
  const creds = clientCredentials(opt, "token");
  const ttlS = int(opt, "ttl", "token", { min: 1, max: 86_400 });
  const out = new Output(opt.json);
  // The token is the client's own: ask with its login and secret, never a token.
  const { bus } = await open({ ...opt, token: undefined, "admin-token": undefined, ...creds }, "token");
  const r = await bus.admin.createToken(ttlS === undefined ? {} : { ttlS });
  if (!opt.json) out.note(`Token for login='${creds.login}', valid until ${new Date(r.expires_at).toISOString()}:`);
  // Bare on stdout, so `$(ismld token ...)` is the token.
  await out.result(r, r.token);
}
