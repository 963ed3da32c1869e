// The help texts: `ismld --help` and `ismld <command> --help`.

const COMMON = `Options every command takes:
  --url URL            the bus (env ISMLD_URL; default http://127.0.0.1:8787)
  --token TOKEN        a bearer token: the admin token, or one from 'ismld token'
                       (env ISMLD_TOKEN; aliases --admin-token, ISMLD_ADMIN_TOKEN)
  --login LOGIN        client credentials, instead of a token (env ISMLD_LOGIN)
  --secret SECRET      (env ISMLD_SECRET, which keeps it out of the process list)
  --json               machine output: one JSON document per line
  -h, --help           this help
Exit codes: 0 ok, 1 the bus refused (its error code and message are printed),
2 usage error, 3 the bus cannot be reached.`;

/** Each command: its usage lines and what it does. */
export const COMMANDS = {
  pub: {
    usage: "ismld pub <topic> [data|-] [--type T] [--source S] [--id ID] [--key K] [--delay D] [--ttl D] [--partition P] [--count N]",
    summary: "publish events",
    text: `Publishes <data> (JSON is sent as JSON, anything else as text), or, with '-' or no
data, each non-empty line of stdin as one event (in order). Prints id, seq and
partition of each event.
  --type T             CloudEvent type (default: the topic); --type, --id or --source
                       send a structured CloudEvent
  --source S           CloudEvent source (default /clients/{login}; /ismld-cli with a token)
  --id ID              CloudEvent id: publishing it again within 10 minutes is a duplicate
  --key K              ordering key: events with one key are delivered in order
  --delay D            deliver no earlier than D from now (500, 500ms, 30s, 5m, 1h, 7d)
  --ttl D              not delivered (again) after D from now
  --partition P        this partition of a partitioned topic (default: by key or id)
  --count N            publish each event N times (default 1)
  --content-type CT    content type of the data (default: application/json for JSON,
                       else text/plain)`,
  },
  sub: {
    usage: "ismld sub <topic> <channel> [--max-in-flight N] [--count N] [--filter JSON] [--no-ack]",
    summary: "consume a channel: print each message and finish it",
    text: `Prints each message (one line each; --json: one JSON object each) and finishes it.
Ctrl-C stops: what is in flight goes back to the bus without counting a failure.
  --max-in-flight N    messages handled at once (default 1)
  --count N            stop after N messages
  --filter JSON        make the channel with this filter first (a CloudEvents
                       Subscriptions API filter, e.g. '{"exact":{"type":"order.created"}}')
  --no-ack             requeue each message instead of finishing it (a failure: it comes
                       back, lowest seq first; combine with --count)
  --requeue-delay D    with --no-ack: requeue after D (default 0)
  --timeout D          the in-flight deadline of each message (default 60s)
  --max-attempts N     failures after which a message is dead (default 0: never)`,
  },
  tail: {
    usage: "ismld tail <topic> [--count N]",
    summary: "print events as they are published (an ephemeral channel)",
    text: `Like nsq_tail: consumes a new channel named tail-<random>#ephemeral, which the bus
deletes with its backlog when tail exits, so only events published from now on are
printed. Ctrl-C exits cleanly.
  --count N            stop after N events
  --max-in-flight N    messages handled at once (default 100)`,
  },
  stats: {
    usage: "ismld stats [topic]",
    summary: "stats of a topic and its channels, or of every topic (admin)",
    text: `With a topic: its seq, retained events and each channel's depth, in flight, deferred,
dead and consumers. Without: one line per topic (needs the admin token).`,
  },
  topics: {
    usage: "ismld topics",
    summary: "list the topics (admin)",
    text: "Lists every topic with its seq, partitions and channels (needs the admin token).",
  },
  seek: {
    usage: "ismld seek <topic> <channel> (--seq N [--partition P] | --time RFC3339)",
    summary: "replay or skip: every retained message from there on is ready again",
    text: `Every retained message from --seq (of --partition, on a partitioned topic) or from
--time (acceptance time, RFC 3339) on becomes ready again; earlier ones are finished.`,
  },
  dead: {
    usage: "ismld dead ls <topic> <channel> [--limit N] [--cursor C] [--all]\n  ismld dead redrive <topic> <channel> [ids...]",
    summary: "list or redrive dead letters",
    text: `ls: one page of dead letters (lowest seq first; --limit per page, default 100); when
more follow, the cursor to pass is printed on stderr. --all walks every page.
redrive: the given dead letters (default: all of them) become ready, failures reset.`,
  },
  pull: {
    usage: "ismld pull <topic> <channel> [--max N] [--wait D] [--ack fin|req|none] [--visibility D] [--partition P]",
    summary: "pull messages over HTTP, print them, then settle them",
    text: `Pulls up to --max messages (default 10), long-polling up to --wait (default 0, at most
30s) for the first, prints them, then settles them with one call:
  --ack fin            finish them (default)
  --ack req            requeue them (a failure)
  --ack none           leave them in flight until their deadline (--visibility, default 60s)
  --requeue-delay D    with --ack req: ready again after D
  --max-attempts N     failures after which a message is dead (default 0: never)
  --partition P        pull from this partition only`,
  },
  bench: {
    usage: "ismld bench pub|sub|pubsub <topic> [--msgs N] [--size BYTES] [--clients N] [--batch N]",
    summary: "measure publish and consume rates and latency",
    text: `Like 'nats bench': pub publishes, sub consumes (channel 'bench', or --channel), pubsub
does both on a fresh channel it deletes afterwards. Prints msgs/s, MB/s and, for
consumers, publish-to-handler latency percentiles (p50, p90, p99, max). Progress goes
to stderr every second.
  --msgs N             messages in all (default 10000)
  --size BYTES         event data size (default 128)
  --clients N          publishers and subscribers each (default 1)
  --batch N            events per pub frame (socket) or per HTTP request (default 100)
  --via socket|http    how publishers publish (default socket: pipelined pub frames)
  --window N           publishes waiting for their answer per publisher (default 1000
                       with --via socket, 1 with --via http)
  --max-in-flight N    per subscriber (default 100)
  --channel C          the channel of 'bench sub' (default bench)
  --quiet              no progress lines`,
  },
  daemon: {
    usage: "ismld daemon up [--bind HOST:PORT] [--checkout DIR]",
    summary: "run the bus locally (from a checkout of ismld)",
    text: `From a checkout (this CLI's own, or --checkout DIR, or ISMLD_CHECKOUT): runs
scripts/dev.sh (npm run dev: builds the Worker and the client, then wrangler dev) on
--bind (default 127.0.0.1:8787) and prints the URL once the bus answers. Ctrl-C
stops it. State is kept in the checkout's .wrangler/state.
  --allow-anonymous true|false   accept requests without credentials (default true)
Without a checkout (an installed package) it prints how to run or deploy the bus.`,
  },
  clients: {
    usage: "ismld clients add <login> [--publish PATTERNS] [--subscribe PATTERNS]\n  ismld clients list | rotate <login> | remove <login>",
    summary: "manage client credentials (admin)",
    text: `PATTERNS are comma-separated topic patterns; * matches any run of characters
(default *). add and rotate print the new secret once: keep it.`,
  },
  token: {
    usage: "ismld token --login LOGIN --secret SECRET [--ttl SECONDS]",
    summary: "a short-lived bearer token for a client (for browsers)",
    text: "Prints a token (default 1 h, at most 24 h) for the client's login and secret.",
  },
};

/** `ismld --help`. */
export function mainHelp() {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const list = Object.entries(COMMANDS)
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
    .join("\n");
  return `ismld: the command line of the ismld event bus

Usage: ismld <command> [arguments] [options]

Commands:
${list}

Run 'ismld <command> --help' for a command's arguments and options.

${COMMON}`;
}

/** `ismld <command> --help`. */
export function commandHelp(name) {
  const c = COMMANDS[name];
  return `Usage:\n  ${c.usage}\n\n${c.text}\n\n${COMMON}`;
}
