import { createHash } from 'node:crypto';
import type pg from 'pg';
import { loadPg } from './pgDriver.js';
import { WATCHED_SUBLEVELS, type BatchOp, type ForeignChange, type WatchedSublevel } from './StorageBackend.js';

/*
 * A commit that changes a watched namespace announces it with NOTIFY, in its own transaction: PostgreSQL
 * delivers it to every listener once the transaction commits, never for one that rolls back, and in commit
 * order. The payload is ASCII: the announcing store's id, then one line per key (`<sublevel> <hex key>`),
 * or `<sublevel> *` for a batch whose keys do not fit.
 */

const WATCHED: ReadonlySet<string> = new Set(WATCHED_SUBLEVELS);
/** NOTIFY takes payloads under 8,000 bytes. */
const MAX_PAYLOAD = 7_900;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;
/**
 * A listening connection only receives, so one that died without closing (a NAT or a balancer dropped
 * it) would go unnoticed: it is asked `SELECT 1` this often, and taken for lost when no answer comes in time.
 */
const HEARTBEAT_MS = 2_000;
const HEARTBEAT_TIMEOUT_MS = 3_000;

/** The channel of a store: one per schema, named by a digest so that any schema name makes a valid one. */
export function announcementChannel(schema: string): string {
  let channel = channels.get(schema);
  if (channel === undefined) {
    channel = `llmstate_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
    channels.set(schema, channel);
  }
  return channel;
}

const channels = new Map<string, string>();

/**
 * The NOTIFY of a batch that changes a watched namespace, to run before its COMMIT; undefined for any other
 * batch. Called on operations that `writeStatements` has checked.
 */
export function announcement(schema: string, from: string, ops: readonly BatchOp[]): string | undefined {
  let lines: string[] | undefined;
  for (const op of ops) {
    if (WATCHED.has(op.sublevel)) (lines ??= [from]).push(`${op.sublevel} ${Buffer.from(op.key.buffer, op.key.byteOffset, op.key.byteLength).toString('hex')}`);
  }
  if (lines === undefined) return undefined;
  let payload = lines.join('\n');
  if (payload.length > MAX_PAYLOAD) {
    const sublevels = new Set(lines.slice(1).map((line) => line.slice(0, line.indexOf(' '))));
    payload = [from, ...[...sublevels].map((sublevel) => `${sublevel} *`)].join('\n');
  }
  return `SELECT pg_notify('${announcementChannel(schema)}', '${payload}')`;
}

/**
 * The NOTIFY that has every listener read every watched namespace again, for a commit that replaced the
 * store whole (a full restore's switch).
 */
export function announcementOfEverything(schema: string): string {
  const payload = ['replaced', ...WATCHED_SUBLEVELS.map((sublevel) => `${sublevel} *`)].join('\n');
  return `SELECT pg_notify('${announcementChannel(schema)}', '${payload}')`;
}

/** The changes a payload announces, or undefined for one this store sent itself (or that is not ours). */
export function parseAnnouncement(payload: string, self: string): ForeignChange[] | undefined {
  const [from, ...lines] = payload.split('\n');
  if (from === self) return undefined;
  const keys = new Map<WatchedSublevel, Buffer[] | 'all'>();
  for (const line of lines) {
    const [sublevel, key] = line.split(' ');
    if (!WATCHED.has(sublevel) || key === undefined) return undefined;
    const name = sublevel as WatchedSublevel;
    const known = keys.get(name) ?? [];
    if (key === '*' || known === 'all') keys.set(name, 'all');
    else keys.set(name, [...known, Buffer.from(key, 'hex')]);
  }
  return [...keys].map(([sublevel, found]) => ({ sublevel, keys: found }));
}

/**
 * A connection of its own that LISTENs on the store's channel, and passes on what other stores announce.
 * When the connection is lost (or stops answering its heartbeat) it reconnects, backing off up to 5 s,
 * and reports `'all'` once listening again: announcements sent meanwhile were lost with it.
 */
export class AnnouncementListener {
  readonly #config: pg.ClientConfig;
  readonly #channel: string;
  readonly #self: string;
  readonly #listener: (change: ForeignChange) => void;
  #client: pg.Client | undefined;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #backoffMs = RECONNECT_MIN_MS;

  constructor(config: pg.ClientConfig, schema: string, self: string, listener: (change: ForeignChange) => void) {
    this.#config = config;
    this.#channel = announcementChannel(schema);
    this.#self = self;
    this.#listener = listener;
  }

  /** Resolves once listening. @throws the connection's error when the first connection fails. */
  async start(): Promise<void> {
    await this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    clearInterval(this.#heartbeat);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {
      // Already gone: nothing to close.
    });
  }

  async #connect(): Promise<void> {
    const { Client } = await loadPg();
    const client = new Client({ ...this.#config, keepAlive: true, connectionTimeoutMillis: HEARTBEAT_TIMEOUT_MS * 2 });
    client.on('notification', (message) => {
      if (message.channel !== this.#channel || message.payload === undefined) return;
      for (const change of parseAnnouncement(message.payload, this.#self) ?? []) this.#listener(change);
    });
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.#channel}`);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    if (this.#stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#backoffMs = RECONNECT_MIN_MS;
    clearInterval(this.#heartbeat);
    this.#heartbeat = setInterval(() => this.#beat(client), HEARTBEAT_MS);
    this.#heartbeat.unref();
    for (const sublevel of WATCHED_SUBLEVELS) this.#listener({ sublevel, keys: 'all' });
  }

  #beat(client: pg.Client): void {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer to the heartbeat')), HEARTBEAT_TIMEOUT_MS);
      timer.unref();
    });
    Promise.race([client.query('SELECT 1'), late])
      .catch(() => this.#lost(client))
      .finally(() => clearTimeout(timer));
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client || this.#stopped) return;
    this.#client = undefined;
    clearInterval(this.#heartbeat);
    client.end().catch(() => {});
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, RECONNECT_MAX_MS);
    this.#retry = setTimeout(() => {
      this.#connect().catch(() => this.#scheduleReconnect());
    }, delay);
    this.#retry.unref();
  }
}
