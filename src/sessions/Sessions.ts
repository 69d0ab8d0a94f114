import type { RecordWrite } from '../../actors/ScopeActor.js';
import { checkOptions, checkOptionsArgument, describeOption } from '../checkOptions.js';
import { LlmStateError } from '../errors.js';
import type { Clock } from '../clock.js';
import { checkCorrelationId, currentCorrelation, newCorrelationId, runUncorrelated, type CorrelationContext } from '../events/correlation.js';
import type { EventSpec } from '../events/eventLog.js';
import { KeyedSerial } from '../KeyedSerial.js';
import { normalizeKey, normalizeScopeId } from '../state/keyRules.js';
import { Scope } from '../state/Scope.js';
import type { BatchOp, StorageBackend } from '../storage/index.js';
import { repeatEvery, type Timers } from '../timers.js';
import { z } from 'zod';
import { checkArtifactId, checkLinkKind, checkMetadata, checkParticipants } from './sessionChecks.js';
import type {
  ArtifactChange,
  ArtifactLink,
  LinkArtifactOptions,
  SessionAccessInfo,
  SessionGcOptions,
  SessionInfo,
  SessionListOptions,
  SessionStartOptions,
} from './sessionTypes.js';
import { byLinkOrder, byLogOrder, changesUnder, currentChange, linksOfScope } from './artifactChanges.js';
import {
  linkRecordOps,
  readIndexedLinks,
  readLinksOf,
  readSession,
  readSessions,
  sessionIdOfKey,
  sessionRecordOp,
  type StoredChange,
  type StoredLink,
  type StoredSession,
} from './sessionRecords.js';

/** The actor of a scope, as far as sessions use it. */
interface ScopeOwner {
  commitRecord(record: RecordWrite, context: CorrelationContext | undefined): Promise<void>;
  drained(): Promise<void>;
}

export interface SessionsDeps {
  storage: StorageBackend;
  clock: Clock;
  timers: Timers;
  defaultTtlMs: number | undefined;
  gcIntervalMs: number;
  maxValueBytes: number;
  ownerOf(scope: Scope): ScopeOwner;
  /** Logs events that belong to no scope, with `extraOps` in the same batch. */
  recordEvents(events: EventSpec[], extraOps: BatchOp[], context: CorrelationContext | undefined): Promise<void>;
  assertWritable(): void;
  assertReadable(): void;
  reportError(error: unknown): void;
}

const DEFAULT_LIST_LIMIT = 1000;

const START_FIELDS = {
  id: [z.unknown(), 'a session id'],
  ttlMs: [z.union([z.number().int().positive().max(Number.MAX_SAFE_INTEGER), z.null()]), 'a positive integer of ms, or null'],
  metadata: [z.unknown(), 'a plain object'],
  participants: [z.unknown(), 'an array of principals'],
} as const;

const LINK_FIELDS = {
  sessionId: [z.unknown(), 'a session id'],
  scope: [z.unknown(), 'a scope'],
  key: [z.unknown(), 'a key'],
  correlationId: [z.unknown(), 'a correlation id'],
  kind: [z.unknown(), 'a kind'],
  metadata: [z.unknown(), 'a plain object'],
} as const;

const LIST_FIELDS = {
  status: [z.enum(['active', 'ended', 'expired']), "'active', 'ended' or 'expired'"],
  limit: [z.number().int().positive().max(Number.MAX_SAFE_INTEGER), 'a positive integer'],
} as const;

const GC_FIELDS = { ended: [z.boolean(), 'a boolean'] } as const;

/**
 * `rt.sessions`: sessions with a time to live, whose state (`Scope.session(id)`) is cleared once they
 * expire, and links between artifacts and the state changes that produced them.
 *
 * Every marker (`session.started`, `session.ended`, `session.expired`) commits through the session
 * scope's actor, in the batch that changes the session's record, so it is ordered with the session's own
 * writes. `start`, `end` and the collection of one id run one at a time, in call order.
 */
export class Sessions {
  readonly #deps: SessionsDeps;
  /** Every session not yet collected, as stored: what {@link accessInfo} and `gc` read. */
  readonly #live = new Map<string, StoredSession>();
  readonly #serial = new KeyedSerial<string>();
  #stopSchedule: (() => void) | undefined;
  #scheduledPass: Promise<unknown> | undefined;
  #linksMade = 0;

  /** @internal */
  constructor(deps: SessionsDeps) {
    this.#deps = deps;
  }

  /** Reads the sessions not yet collected, collects the expired ones, and starts the periodic collection. @internal */
  async load(): Promise<void> {
    for await (const session of readSessions(this.#deps.storage)) {
      if (session.collected === undefined) this.#live.set(session.id, session);
    }
    await runUncorrelated(() => this.#collect(false, undefined, true)).catch((error: unknown) => this.#deps.reportError(error));
    this.#stopSchedule = repeatEvery(this.#deps.timers, this.#deps.gcIntervalMs, () => this.#runScheduledPass());
  }

  /**
   * Brings the sessions whose records are under `keys` (or all of them) up to the store: what another
   * process sharing it started, ended or collected. Each id is read in its turn with this process's calls
   * on it, so a read never undoes one of them. @internal
   *
   * @throws {DATA_CORRUPT} when a record fails its checksum.
   */
  async refresh(keys: readonly Buffer[] | 'all'): Promise<void> {
    const ids = new Set<string>();
    if (keys === 'all') {
      for (const id of this.#live.keys()) ids.add(id);
      for await (const session of readSessions(this.#deps.storage)) if (session.collected === undefined) ids.add(session.id);
    } else {
      for (const key of keys) {
        const id = sessionIdOfKey(key);
        if (id !== undefined) ids.add(id);
      }
    }
    await Promise.all([...ids].map((id) => this.#serial.run(id, () => this.#reread(id))));
  }

  async #reread(id: string): Promise<StoredSession | undefined> {
    const stored = await readSession(this.#deps.storage, id);
    if (stored === undefined || stored.collected !== undefined) {
      this.#live.delete(id);
      return undefined;
    }
    this.#live.set(id, stored);
    return stored;
  }

  /** Stops the periodic collection and waits for a pass that is running. @internal */
  async stop(): Promise<void> {
    this.#stopSchedule?.();
    this.#stopSchedule = undefined;
    await this.#scheduledPass;
    await this.#serial.idle();
  }

  /**
   * Starts a session: saves its record and logs `session.started` in one batch.
   *
   * @throws {SCOPE_INVALID} for an id that breaks the scope id rules.
   * @throws {TypeError} when a session with this id exists (or existed: ids of collected sessions are
   *   not reused), or for a bad `ttlMs`, `metadata` or `participants`.
   * @throws {VALUE_INVALID} for metadata that is not JSON data.
   * @example const s = await rt.sessions.start({ ttlMs: 3_600_000, metadata: { user: 'u1' } })
   */
  async start(options: SessionStartOptions = {}): Promise<SessionInfo> {
    this.#deps.assertWritable();
    checkOptionsArgument(options);
    const given = checkOptions(options, START_FIELDS);
    const id = given.id === undefined ? newCorrelationId() : normalizeScopeId(given.id, 'session id');
    const metadata = given.metadata === undefined ? {} : checkMetadata(given.metadata, this.#deps.maxValueBytes, `session ${id}`);
    const participants = given.participants === undefined ? [] : checkParticipants(given.participants);
    const ttlMs = given.ttlMs === undefined ? this.#deps.defaultTtlMs : (given.ttlMs ?? undefined);
    const context = currentCorrelation();
    return this.#serial.run(id, async () => {
      const existing = this.#live.get(id) ?? (await readSession(this.#deps.storage, id));
      if (existing !== undefined) {
        throw new TypeError(
          `A session with id ${JSON.stringify(id)} already exists (${this.#info(existing).status}); ` +
            'session ids are not reused, even once collected: start one with another id, or without one',
        );
      }
      const startedAt = this.#deps.clock.now();
      const session: StoredSession = {
        id,
        startedAt,
        expiresAt: ttlMs === undefined ? null : startedAt + ttlMs,
        metadata,
        participants,
        startedBy: context?.principal ?? 'system',
        status: 'active',
      };
      const scope = Scope.session(id);
      const data = {
        id,
        ...(session.expiresAt === null ? {} : { expiresAt: session.expiresAt }),
        ...(Object.keys(metadata).length === 0 ? {} : { metadata }),
        ...(participants.length === 0 ? {} : { participants }),
      };
      await this.#deps.ownerOf(scope).commitRecord({ extraOps: [sessionRecordOp(session)], events: [{ kind: 'session.started', scope: scope.toString(), data }] }, context);
      this.#live.set(id, session);
      return this.#info(session);
    });
  }

  /**
   * Ends a session: its status becomes `ended` and `session.ended` is logged. Its state is kept until it
   * is collected: when its time to live passes, or by `gc({ ended: true })`. Ending an ended session
   * changes nothing and resolves with it as it is.
   *
   * @throws {TypeError} for an unknown session, or one that has expired (ended or not).
   * @example await rt.sessions.end(s.id)
   */
  async end(id: string): Promise<SessionInfo> {
    this.#deps.assertWritable();
    const sessionId = normalizeScopeId(id, 'session id');
    const context = currentCorrelation();
    return this.#serial.run(sessionId, async () => {
      const session = await this.#uncollected(sessionId, 'end');
      const now = this.#deps.clock.now();
      if (isPast(session, now)) {
        throw new TypeError(`Session ${JSON.stringify(sessionId)} expired at ${new Date(session.expiresAt!).toISOString()}; there is nothing left to end`);
      }
      if (session.status === 'ended') return this.#info(session);
      const ended: StoredSession = { ...session, status: 'ended', endedAt: now };
      const scope = Scope.session(sessionId);
      await this.#deps.ownerOf(scope).commitRecord({ extraOps: [sessionRecordOp(ended)], events: [{ kind: 'session.ended', scope: scope.toString(), data: { id: sessionId } }] }, context);
      this.#live.set(sessionId, ended);
      return this.#info(ended);
    });
  }

  /**
   * A session, collected ones included (with `collected` set); undefined for an id never started.
   *
   * @throws {SCOPE_INVALID} for an invalid id. @throws {DATA_CORRUPT} when its record is damaged.
   */
  async get(id: string): Promise<SessionInfo | undefined> {
    this.#deps.assertReadable();
    const sessionId = normalizeScopeId(id, 'session id');
    const session = this.#live.get(sessionId) ?? (await readSession(this.#deps.storage, sessionId));
    return session === undefined ? undefined : this.#info(session);
  }

  /**
   * Sessions in id order, collected ones included, optionally of one status.
   *
   * @throws {TypeError} for a bad filter. @throws {DATA_CORRUPT} when a record is damaged.
   * @example await rt.sessions.list({ status: 'active' })
   */
  async list(options: SessionListOptions = {}): Promise<SessionInfo[]> {
    this.#deps.assertReadable();
    checkOptionsArgument(options);
    const { status, limit = DEFAULT_LIST_LIMIT } = checkOptions(options, LIST_FIELDS);
    const found: SessionInfo[] = [];
    for await (const stored of readSessions(this.#deps.storage)) {
      const info = this.#info(this.#live.get(stored.id) ?? stored);
      if (status !== undefined && info.status !== status) continue;
      found.push(info);
      if (found.length >= limit) break;
    }
    return found;
  }

  /**
   * Collects every session whose time to live has passed (and, with `ended: true`, every ended one):
   * each in one atomic batch that clears its state, turns its record into a tombstone and logs
   * `session.expired`. A session that fails to be collected is left whole and is tried again on the
   * next pass; the others are still collected, and the call then rejects with the first error.
   *
   * @throws {STORAGE_FAILED} when a batch fails.
   * @example const { collected } = await rt.sessions.gc({ ended: true })
   */
  async gc(options: SessionGcOptions = {}): Promise<{ collected: string[] }> {
    this.#deps.assertWritable();
    checkOptionsArgument(options);
    const { ended = false } = checkOptions(options, GC_FIELDS);
    return this.#collect(ended, currentCorrelation());
  }

  /**
   * Who may see a session not yet collected, for the access policy: synchronous, from memory.
   * Undefined for an id never started or already collected. @internal
   */
  accessInfo(id: string): SessionAccessInfo | undefined {
    const session = this.#live.get(id);
    if (session === undefined) return undefined;
    return { participants: session.participants, startedBy: session.startedBy, status: this.#statusOf(session) };
  }

  /**
   * Links an artifact to state changes, and logs `artifact.linked` in the link's batch.
   *
   * - With `scope` and `key`: the change that produced the key's value when the link is made (writes
   *   queued on the scope before the call are waited for). The link commits through the scope's actor.
   * - With `correlationId`: every state change recorded under it, those made later included, resolved
   *   when the changes are asked for.
   *
   * @throws {TypeError} for a bad artifact id, neither or both of the two forms, a key with no value,
   *   or an unknown or collected `sessionId`. @throws {SCOPE_INVALID} @throws {STATE_KEY_INVALID}
   * @example await rt.sessions.linkArtifact('report-7.pdf', { scope: Scope.agent('ada'), key: 'draft', kind: 'file' })
   */
  linkArtifact(artifactId: string, options: LinkArtifactOptions): Promise<ArtifactLink> {
    return this.#link(artifactId, options, undefined);
  }

  /**
   * {@link linkArtifact}, where a link by correlation id alone is made only once `mayLink` has resolved
   * for the scopes that the changes under it touched, as read for the link (its event tells how many
   * there are). An access view checks with it that its principal may read them. @internal
   */
  linkArtifactChecked(artifactId: string, options: LinkArtifactOptions, mayLink: (scopes: string[]) => Promise<unknown>): Promise<ArtifactLink> {
    return this.#link(artifactId, options, mayLink);
  }

  async #link(artifactId: string, options: LinkArtifactOptions, mayLink: ((scopes: string[]) => Promise<unknown>) | undefined): Promise<ArtifactLink> {
    this.#deps.assertWritable();
    checkArtifactId(artifactId);
    checkOptionsArgument(options, 'options', 'required');
    const given = checkOptions(options, LINK_FIELDS);
    const byKey = given.scope !== undefined || given.key !== undefined;
    if (byKey && given.correlationId !== undefined) {
      throw new TypeError('Expected either `scope` and `key`, or `correlationId`, got both');
    }
    if (!byKey && given.correlationId === undefined) {
      throw new TypeError('Expected `scope` and `key`, or `correlationId`, to say which changes produced the artifact, got neither');
    }
    if (byKey && (given.scope === undefined || given.key === undefined)) {
      throw new TypeError(`Expected \`scope\` and \`key\` together, got only \`${given.scope === undefined ? 'key' : 'scope'}\``);
    }
    checkLinkKind(given.kind);
    const scope = given.scope === undefined ? undefined : toScope(given.scope, 'scope');
    const key = given.key === undefined ? undefined : normalizeKey(given.key);
    if (given.correlationId !== undefined) checkCorrelationId(given.correlationId);
    const sessionId = given.sessionId === undefined ? undefined : normalizeScopeId(given.sessionId, 'session id');
    const metadata = given.metadata === undefined ? {} : checkMetadata(given.metadata, this.#deps.maxValueBytes, `the link to ${artifactId}`);
    if (sessionId !== undefined) await this.#uncollected(sessionId, 'link an artifact to');
    const context = currentCorrelation();
    const linkedAt = this.#deps.clock.now();
    const link: StoredLink = {
      artifactId,
      linkId: this.#newLinkId(linkedAt),
      linkedAt,
      ...(given.kind === undefined ? {} : { kind: given.kind as string }),
      metadata,
      ...(sessionId === undefined ? {} : { sessionId }),
    };
    const data = { artifactId, ...(link.kind === undefined ? {} : { kind: link.kind }), ...(sessionId === undefined ? {} : { sessionId }) };
    if (scope !== undefined) {
      const owner = this.#deps.ownerOf(scope);
      link.scope = scope.toString();
      link.key = key;
      await owner.drained();
      link.change = await currentChange(this.#deps.storage, scope, key!);
      const events: EventSpec[] = [{ kind: 'artifact.linked', scope: link.scope, data: { ...data, key, changes: 1 } }];
      await owner.commitRecord({ extraOps: linkRecordOps(link), events }, context);
    } else {
      link.correlationId = given.correlationId as string;
      const under = await changesUnder(this.#deps.storage, link.correlationId);
      if (mayLink !== undefined) await mayLink([...new Set(under.map((change) => change.scope))]);
      const changes = under.length;
      const eventData = { ...data, changes, linkedCorrelationId: link.correlationId };
      if (sessionId !== undefined) {
        const sessionScope = Scope.session(sessionId);
        const events: EventSpec[] = [{ kind: 'artifact.linked', scope: sessionScope.toString(), data: eventData }];
        await this.#deps.ownerOf(sessionScope).commitRecord({ extraOps: linkRecordOps(link), events }, context);
      } else {
        await this.#deps.recordEvents([{ kind: 'artifact.linked', data: eventData }], linkRecordOps(link), context);
      }
    }
    return publicLink(link);
  }

  /**
   * The state changes that produced an artifact, in log order, each once: the change each key link
   * names, and every change under each linked correlation id (those left in the event log).
   *
   * @throws {TypeError} for a bad artifact id. @throws {DATA_CORRUPT}
   * @example for (const change of await rt.sessions.changesByArtifact('report-7.pdf')) console.log(change.eventId)
   */
  async changesByArtifact(artifactId: string): Promise<ArtifactChange[]> {
    this.#deps.assertReadable();
    checkArtifactId(artifactId);
    const changes = new Map<string, StoredChange>();
    for (const link of await readLinksOf(this.#deps.storage, artifactId)) {
      const found = link.change !== undefined ? [link.change] : await changesUnder(this.#deps.storage, link.correlationId!);
      for (const change of found) changes.set(change.eventId ?? `${change.seq}:${change.scope}:${change.key}`, change);
    }
    return [...changes.values()].sort(byLogOrder).map(publicChange);
  }

  /**
   * The links of one artifact, oldest first: what `linkArtifact` made for it.
   *
   * @throws {TypeError} for a bad artifact id. @throws {DATA_CORRUPT}
   * @example await rt.sessions.linksOf('report-7.pdf')
   */
  async linksOf(artifactId: string): Promise<ArtifactLink[]> {
    this.#deps.assertReadable();
    checkArtifactId(artifactId);
    return (await readLinksOf(this.#deps.storage, artifactId)).sort(byLinkOrder).map(publicLink);
  }

  /**
   * The artifact links of a scope or of a session, oldest first.
   *
   * - A {@link Scope}, or a scope's string form (`agent:ada`): the key links of that scope, and the
   *   correlation links whose changes touched it.
   * - `{ sessionId }`: the links made with that session id, and those of the session's own scope.
   *
   * @throws {TypeError} for anything else. @throws {SCOPE_INVALID} @throws {DATA_CORRUPT}
   * @example await rt.sessions.artifactsOf({ sessionId: s.id })
   */
  async artifactsOf(target: Scope | string | { sessionId: string }): Promise<ArtifactLink[]> {
    this.#deps.assertReadable();
    const storage = this.#deps.storage;
    let links: StoredLink[];
    if (typeof target === 'object' && target !== null && !Scope.isScope(target)) {
      checkOptions(target, { sessionId: [z.string(), 'a session id'] }, { what: '`target`', field: 'field', required: ['sessionId'] });
      const sessionId = normalizeScopeId(target.sessionId, 'session id');
      links = [...(await readIndexedLinks(storage, 'session', sessionId)), ...(await linksOfScope(storage, Scope.session(sessionId).toString()))];
    } else {
      links = await linksOfScope(storage, toScope(target, 'target').toString());
    }
    const unique = new Map(links.map((link) => [`${link.artifactId}\x00${link.linkId}`, link]));
    return [...unique.values()].sort(byLinkOrder).map(publicLink);
  }

  /** Orders by time, then by call within this runtime; the random tail tells apart links made elsewhere in the same ms. */
  #newLinkId(linkedAt: number): string {
    this.#linksMade = (this.#linksMade + 1) % 1_000_000;
    return `${String(linkedAt).padStart(15, '0')}${String(this.#linksMade).padStart(6, '0')}${newCorrelationId().slice(0, 6)}`;
  }

  async #uncollected(id: string, action: string): Promise<StoredSession> {
    const session = this.#live.get(id);
    if (session !== undefined) return session;
    const stored = await readSession(this.#deps.storage, id);
    if (stored === undefined) throw new TypeError(`Cannot ${action} session ${JSON.stringify(id)}: no session has this id. rt.sessions.list() shows the sessions`);
    if (stored.collected === undefined) {
      // Started by another process sharing the store, before this one heard of it.
      this.#live.set(id, stored);
      return stored;
    }
    throw new TypeError(
      `Cannot ${action} session ${JSON.stringify(id)}: it was collected at ${new Date(stored.collected!.at).toISOString()} (${stored.collected!.reason === 'ttl' ? 'its time to live passed' : 'it had ended'})`,
    );
  }

  #runScheduledPass(): void {
    if (this.#scheduledPass !== undefined) return;
    try {
      this.#deps.assertWritable();
    } catch {
      return;
    }
    this.#scheduledPass = runUncorrelated(() => this.#collect(false, undefined, true))
      .catch((error: unknown) => this.#deps.reportError(error))
      .finally(() => (this.#scheduledPass = undefined));
  }

  async #collect(ended: boolean, context: CorrelationContext | undefined, scheduled = false): Promise<{ collected: string[] }> {
    const now = this.#deps.clock.now();
    const due = [...this.#live.values()].filter((session) => reasonToCollect(session, now, ended) !== undefined).map((session) => session.id);
    const collected: string[] = [];
    let failure: unknown;
    for (const id of due) {
      try {
        if (await this.#serial.run(id, () => this.#collectOne(id, ended, context))) collected.push(id);
      } catch (error) {
        // On a shared store, the process whose actor holds the session's scope collects it: a scheduled
        // pass leaves it to that process, and a call is told.
        if (!(scheduled && error instanceof LlmStateError && error.code === 'SCOPE_LEASED')) failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
    return { collected };
  }

  async #collectOne(id: string, ended: boolean, context: CorrelationContext | undefined): Promise<boolean> {
    // Another process sharing the store may have collected it (or ended it) since this one last heard.
    const session = this.#deps.storage.shared ? await this.#reread(id) : this.#live.get(id);
    const now = this.#deps.clock.now();
    const reason = session === undefined ? undefined : reasonToCollect(session, now, ended);
    if (session === undefined || reason === undefined) return false;
    const scope = Scope.session(id).toString();
    await this.#deps.ownerOf(Scope.session(id)).commitRecord(
      {
        clearScope: (cleared) => ({
          extraOps: [sessionRecordOp({ ...session, status: 'expired', collected: { at: now, cleared, reason } })],
          events: [{ kind: 'session.expired', scope, data: { id, cleared, reason } }],
        }),
      },
      context,
    );
    this.#live.delete(id);
    return true;
  }

  #statusOf(session: StoredSession): SessionInfo['status'] {
    return session.collected !== undefined || isPast(session, this.#deps.clock.now()) ? 'expired' : session.status;
  }

  #info(session: StoredSession): SessionInfo {
    const info: SessionInfo = {
      id: session.id,
      startedAt: session.startedAt,
      expiresAt: session.expiresAt,
      metadata: structuredClone(session.metadata),
      participants: [...session.participants],
      status: this.#statusOf(session),
      startedBy: session.startedBy,
    };
    if (session.endedAt !== undefined) info.endedAt = session.endedAt;
    if (session.collected !== undefined) info.collected = { ...session.collected };
    return info;
  }
}

function isPast(session: StoredSession, now: number): boolean {
  return session.expiresAt !== null && session.expiresAt <= now;
}

function reasonToCollect(session: StoredSession, now: number, ended: boolean): 'ttl' | 'ended' | undefined {
  if (isPast(session, now)) return 'ttl';
  return ended && session.status === 'ended' ? 'ended' : undefined;
}

function toScope(value: unknown, name: string): Scope {
  if (Scope.isScope(value)) return value;
  if (typeof value === 'string') return Scope.parse(value);
  throw new TypeError(`Expected \`${name}\` to be a Scope or its string form (such as 'agent:ada'), got ${describeOption(value)}`);
}

function publicChange(change: StoredChange): ArtifactChange {
  return { ...change };
}

function publicLink(link: StoredLink): ArtifactLink {
  const { change, metadata, ...rest } = link;
  return { ...rest, metadata: structuredClone(metadata), ...(change === undefined ? {} : { change: publicChange(change) }) };
}
