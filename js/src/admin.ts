/**
 * `bus.admin`: one typed client for every management endpoint of the HTTP API (topics,
 * stats, channels with filters and push settings, pause, seek, dead letters, redrive,
 * pull, settle, clients, tokens, partitioned topics, health, metrics), over the
 * connection's transport: http(s) or `memory://` (which has the topic operations; the
 * client, token and metrics calls reject there). Names get the connection's prefix.
 */

import type {
  ChannelOptions,
  ChannelStats,
  ClientInfo,
  ClientSecret,
  DeadLetter,
  DeadLetterPage,
  Health,
  PulledMessage,
  PullOptions,
  SettleItem,
  SettleResult,
  Token,
  TopicStats,
  TopicSummary,
} from "./admin-types.js";
import { seg, type HttpCall, type Transport } from "./transport.js";
import { ready } from "./wasm.js";

type Names = (name: string, channel: boolean) => string;

/** Typed management calls. */
export class Admin {
  /** @internal */
  constructor(
    private readonly transport: Transport,
    private readonly names: Names,
    private readonly open: () => void,
  ) {}

  private async call<R>(method: string, path: string, extra: Partial<HttpCall> & { json?: unknown } = {}): Promise<{ status: number; body: R }> {
    this.open();
    const { json, ...rest } = extra;
    const call: HttpCall = { method, path, ...rest };
    if (json !== undefined) {
      call.body = JSON.stringify(json);
      call.contentType = "application/json";
    }
    const r = await this.transport.http(call);
    const body = (r.text && /^\s*[[{]/.test(r.text) ? JSON.parse(r.text) : r.text) as R;
    return { status: r.status, body };
  }

  private async topic(t: string): Promise<string> {
    await ready();
    return `/v1/topics/${seg(this.names(t, false))}`;
  }

  private async channel(t: string, c: string): Promise<string> {
    return `${await this.topic(t)}/channels/${seg(this.names(c, true))}`;
  }

  /** `GET /v1/topics` (admin): every topic, with `stats: true` their channels' stats too. */
  async topics(options: { stats?: boolean } = {}): Promise<TopicSummary[]> {
    const query: Record<string, string> = options.stats ? { stats: "true" } : {};
    return (await this.call<{ topics: TopicSummary[] }>("GET", "/v1/topics", { query })).body.topics;
  }

  /** `GET /v1/topics/{topic}`: stats of the topic and its channels. */
  async stats(topic: string): Promise<TopicStats> {
    return (await this.call<TopicStats>("GET", await this.topic(topic))).body;
  }

  /**
   * `PUT /v1/topics/{topic}` (admin): a topic with `partitions` partitions (1..64).
   * `created` is false if it existed with the same number; another number (a topic made
   * implicitly has 1) rejects with an `InvalidRequestError` of code `conflict`.
   * `memory://` has topics of one partition only.
   */
  async createTopic(topic: string, options: { partitions: number }): Promise<{ created: boolean; partitions: number }> {
    const r = await this.call<{ partitions?: number }>("PUT", await this.topic(topic), { json: { partitions: options.partitions } });
    return { created: r.status === 201, partitions: r.body?.partitions ?? options.partitions };
  }

  /** `DELETE /v1/topics/{topic}` (admin): the topic, its channels and data. */
  async deleteTopic(topic: string): Promise<void> {
    await this.call("DELETE", await this.topic(topic));
  }

  /** `PUT .../channels/{channel}`: makes a channel (`created` false if it existed); a push channel's answer has its secret once. */
  async createChannel(topic: string, channel: string, options: ChannelOptions = {}): Promise<ChannelStats & { created: boolean }> {
    const body: Record<string, unknown> = {};
    if (options.fromSeq !== undefined) body["from_seq"] = options.fromSeq;
    if (options.filter !== undefined) body["filter"] = options.filter;
    if (options.push) {
      const p = options.push;
      body["push"] = strip({
        url: p.url,
        headers: p.headers,
        max_in_flight: p.maxInFlight,
        timeout_ms: p.timeoutMs,
        max_attempts: p.maxAttempts,
        retry_ms: p.retryMs,
      });
    }
    const r = await this.call<ChannelStats>("PUT", await this.channel(topic, channel), { json: body });
    return { ...r.body, created: r.status === 201 };
  }

  /** `DELETE .../channels/{channel}`: its consumers are closed with 4004. */
  async deleteChannel(topic: string, channel: string): Promise<void> {
    await this.call("DELETE", await this.channel(topic, channel));
  }

  /** `POST .../pause`: no deliveries until `unpause`. */
  async pause(topic: string, channel: string): Promise<ChannelStats> {
    return (await this.call<ChannelStats>("POST", `${await this.channel(topic, channel)}/pause`)).body;
  }

  /** `POST .../unpause`. */
  async unpause(topic: string, channel: string): Promise<ChannelStats> {
    return (await this.call<ChannelStats>("POST", `${await this.channel(topic, channel)}/unpause`)).body;
  }

  /**
   * `POST .../seek`: every retained message from `seq` or `time` on is ready again, earlier
   * ones finished. `seq`s are per partition: on a partitioned topic a seek by `seq` names
   * its `partition`; a seek by `time` applies to every partition.
   */
  async seek(topic: string, channel: string, to: { seq: number; partition?: number } | { time: string | Date }): Promise<{ ready: number }> {
    const json = "time" in to ? { time: to.time instanceof Date ? to.time.toISOString() : to.time } : strip({ seq: to.seq, partition: to.partition });
    return (await this.call<{ ready: number }>("POST", `${await this.channel(topic, channel)}/seek`, { json })).body;
  }

  /** `GET .../dead`: one page of dead letters (lowest seq first); pass the answer's `cursor` for the next. */
  async deadLetters(topic: string, channel: string, options: { limit?: number; cursor?: string } = {}): Promise<DeadLetterPage> {
    const query: Record<string, string> = {};
    if (options.limit !== undefined) query["limit"] = String(options.limit);
    if (options.cursor !== undefined) query["cursor"] = options.cursor;
    return (await this.call<DeadLetterPage>("GET", `${await this.channel(topic, channel)}/dead`, { query })).body;
  }

  /** Every dead letter, page after page: `for await (const d of bus.admin.eachDeadLetter(t, c))`. */
  async *eachDeadLetter(topic: string, channel: string, options: { pageSize?: number } = {}): AsyncGenerator<DeadLetter> {
    let cursor: string | undefined;
    do {
      const page: DeadLetterPage = await this.deadLetters(topic, channel, { limit: options.pageSize ?? 100, ...(cursor ? { cursor } : {}) });
      yield* page.messages;
      cursor = page.cursor;
    } while (cursor);
  }

  /** `POST .../dead/redrive`: dead letters (all, or these ids) become ready with failures reset. */
  async redrive(topic: string, channel: string, ids?: string[]): Promise<{ redriven: number }> {
    return (await this.call<{ redriven: number }>("POST", `${await this.channel(topic, channel)}/dead/redrive`, { json: ids ? { ids } : {} })).body;
  }

  /**
   * `POST .../pull`: messages in flight to the caller until their deadline; settle them
   * with {@link settle} (routed by their ids on a partitioned topic). With `partition`, from
   * that partition only; without, from any (a long poll waits on every partition).
   */
  async pull(topic: string, channel: string, options: PullOptions = {}): Promise<PulledMessage[]> {
    const json = strip({
      max: options.max,
      visibility_ms: options.visibilityMs,
      wait_ms: options.waitMs,
      max_attempts: options.maxAttempts,
      partition: options.partition,
    });
    const extra = options.signal ? { json, signal: options.signal } : { json };
    return (await this.call<{ messages: PulledMessage[] }>("POST", `${await this.channel(topic, channel)}/pull`, extra)).body.messages;
  }

  /** `POST .../settle`: fin / touch / req / shelve of pulled messages (at most 1,000), each answered in order. */
  async settle(topic: string, channel: string, items: SettleItem[]): Promise<SettleResult[]> {
    const settle = items.map((i) => strip({ op: i.op, id: i.id, state: i.state, delay_ms: i.delayMs }));
    return (await this.call<{ results: SettleResult[] }>("POST", `${await this.channel(topic, channel)}/settle`, { json: { settle } })).body.results;
  }

  /** `GET /v1/clients` (admin). */
  async clients(): Promise<ClientInfo[]> {
    return (await this.call<{ clients: ClientInfo[] }>("GET", "/v1/clients")).body.clients;
  }

  /** `POST /v1/clients` (admin): a client with publish / subscribe topic patterns (default `["*"]`); its secret is shown once. */
  async createClient(login: string, options: { publish?: string[]; subscribe?: string[] } = {}): Promise<ClientSecret> {
    return (await this.call<ClientSecret>("POST", "/v1/clients", { json: strip({ login, publish: options.publish, subscribe: options.subscribe }) })).body;
  }

  /** `POST /v1/clients/{login}/secret` (admin): a new secret; the old one and its tokens stop working. */
  async rotateSecret(login: string): Promise<ClientSecret> {
    return (await this.call<ClientSecret>("POST", `/v1/clients/${seg(login)}/secret`)).body;
  }

  /** `DELETE /v1/clients/{login}` (admin). */
  async deleteClient(login: string): Promise<void> {
    await this.call("DELETE", `/v1/clients/${seg(login)}`);
  }

  /** `POST /v1/tokens` (a client's login and secret): a bearer token (default 1 h, at most 24 h). */
  async createToken(options: { ttlS?: number } = {}): Promise<Token> {
    return (await this.call<Token>("POST", "/v1/tokens", { json: strip({ ttl_s: options.ttlS }) })).body;
  }

  /** `GET /v1/health` (no credentials needed). */
  async health(): Promise<Health> {
    return (await this.call<Health>("GET", "/v1/health")).body;
  }

  /** `GET /metrics` (admin): Prometheus text. */
  async metrics(): Promise<string> {
    return (await this.call<string>("GET", "/metrics")).body;
  }
}

function strip(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
