import { LlmStateError } from '../errors.js';
import { currentCorrelation } from '../events/correlation.js';
import type { EventSpec } from '../events/eventLog.js';
import type { BatchOp, StorageBackend } from '../storage/index.js';
import type { Scope } from '../state/Scope.js';
import { Serial } from '../Serial.js';
import { AccessPolicy, type SessionAccess } from './AccessPolicy.js';
import { ChangesInFlight, grantChange, quarantineChange } from './ChangesInFlight.js';
import type { AuditEntry, AuditLog } from './AuditLog.js';
import { isAudited, type AccessDecision } from './decision.js';
import { decodeAccessRecord, parseAccessKey, type AccessKey, type Grant, type Quarantine } from './grantRecords.js';
import type { Operation } from './permissions.js';
import type { ParsedPrincipal } from '../state/principal.js';

export interface AccessControlDeps {
  storage: StorageBackend;
  now(): number;
  audit: AuditLog;
  /** Logs events through the commit path, with `extraOps` in the same batch. */
  recordEvents(events: EventSpec[], extraOps?: BatchOp[]): Promise<void>;
  sessionAccess(id: string): SessionAccess | undefined;
  reportError(error: unknown): void;
  /** Another process quarantined the agent: cut it off here too. */
  quarantinedElsewhere(quarantine: Quarantine): void;
}

/** One decision to take: an operation by a principal on a scope, made through an API method. */
export interface AccessRequest {
  principal: ParsedPrincipal;
  scope: Scope;
  operation: Operation;
  key?: string;
  /** The API call, such as `state.get`, for the audit log. */
  method: string;
  boundSession?: string;
}

/**
 * Takes decisions and puts them on record. An allowed cross-scope decision is audited in the background
 * (the audit log writes each tick's entries in one batch); a denial is audited, and logged as an
 * `access.denied` event, before the caller hears of it.
 */
export class AccessControl {
  readonly policy: AccessPolicy;
  readonly audit: AuditLog;
  /** The changes `rt.access` is making here; see {@link refresh}. */
  readonly changes = new ChangesInFlight();
  /**
   * Agents quarantined here whose quarantine the store failed to record: in force in this process all the
   * same (docs/access.md), so a refresh that finds no record of it keeps it.
   */
  readonly unrecordedQuarantines = new Set<string>();
  readonly #deps: AccessControlDeps;
  readonly #refreshes = new Serial();
  #lastRefresh: Promise<void> = Promise.resolve();

  constructor(deps: AccessControlDeps) {
    this.#deps = deps;
    this.audit = deps.audit;
    this.policy = new AccessPolicy({ now: deps.now, sessionAccess: deps.sessionAccess });
  }

  /** Reads the grants and quarantines of the store. @throws {DATA_CORRUPT} */
  async load(): Promise<void> {
    const { grants, quarantines } = await this.#readAll();
    for (const grant of grants.values()) this.policy.grants.add(grant);
    for (const quarantine of quarantines.values()) this.policy.quarantines.set(quarantine.agentId, quarantine);
  }

  /**
   * Brings the grants and quarantines under `keys` (or all of them) in memory up to what the store holds:
   * what another process sharing the store changed. A quarantine found this way cuts the agent off here
   * too. What it read of a grant or quarantine that a change of this process touched meanwhile is left
   * alone, so that it never undoes one in memory (and a quarantine this process could not record stays
   * in force); refreshes run one at a time, in call order.
   *
   * @throws {DATA_CORRUPT} when a record fails its checksum.
   */
  refresh(keys: readonly Buffer[] | 'all'): Promise<void> {
    const refreshed = this.#refreshes.run(() =>
      this.changes.read(
        () => (keys === 'all' ? this.#readAll() : this.#readKeys(keys)),
        (found, untouched) => this.#apply(found, keys === 'all', untouched),
      ),
    );
    this.#lastRefresh = refreshed.catch(() => {});
    return refreshed;
  }

  /** Resolves once the refreshes asked for so far have run. */
  refreshed(): Promise<void> {
    return this.#lastRefresh;
  }

  async #readAll(): Promise<StoredAccess> {
    const found: StoredAccess = { grants: new Map(), quarantines: new Map() };
    for await (const [key, value] of this.#deps.storage.iterate('access')) addRecord(found, key, value);
    return found;
  }

  /** The records under `keys`, with each key's id: a key with no record is an id in neither map. */
  async #readKeys(keys: readonly Buffer[]): Promise<StoredAccess> {
    const ids: (AccessKey | undefined)[] = [];
    const found: StoredAccess = { grants: new Map(), quarantines: new Map(), ids };
    for (const key of keys) {
      ids.push(parseAccessKey(key));
      const value = await this.#deps.storage.get('access', key);
      if (value !== undefined) addRecord(found, key, value);
    }
    return found;
  }

  #apply(found: StoredAccess, whole: boolean, untouched: (key: string) => boolean): void {
    const { grants, quarantines } = this.policy;
    const grantIds = whole ? [...grants.all().map((grant) => grant.id), ...found.grants.keys()] : found.ids!.flatMap((id) => (id?.type === 'grant' ? [id.id] : []));
    const agentIds = whole ? [...quarantines.keys(), ...found.quarantines.keys()] : found.ids!.flatMap((id) => (id?.type === 'quarantine' ? [id.agentId] : []));
    for (const id of new Set(grantIds)) {
      if (!untouched(grantChange(id))) continue;
      const grant = found.grants.get(id);
      if (grant === undefined) grants.remove(id);
      else grants.add(grant);
    }
    for (const agentId of new Set(agentIds)) {
      if (!untouched(quarantineChange(agentId))) continue;
      const quarantine = found.quarantines.get(agentId);
      if (quarantine === undefined) {
        if (!this.unrecordedQuarantines.has(agentId)) quarantines.delete(agentId);
        continue;
      }
      this.unrecordedQuarantines.delete(agentId);
      const known = quarantines.has(agentId);
      quarantines.set(agentId, quarantine);
      if (!known) this.#deps.quarantinedElsewhere(quarantine);
    }
  }

  /** Decides, and audits the decision when it is cross-scope. Undefined when allowed; else the refusal. */
  authorize(request: AccessRequest): Refusal | undefined {
    const decision = this.policy.decide(request.principal, request.scope, request.operation, request.boundSession);
    if (decision.allowed) {
      if (isAudited(decision)) this.#audit(request, decision).catch((error: unknown) => this.#deps.reportError(error));
      return undefined;
    }
    return this.refuse(request, decision);
  }

  /**
   * Puts a denial on record (audit entry and `access.denied` event) and builds the error to refuse the
   * call with. `recorded` settles once both are durable; it never rejects.
   */
  refuse(request: Omit<AccessRequest, 'scope'> & { scope?: Scope }, decision: AccessDecision): Refusal {
    const code = decision.code ?? 'ACCESS_DENIED';
    const scope = request.scope?.toString();
    const error = new LlmStateError(code, refusalMessage(request, scope, decision), {
      details: { principal: request.principal.name, operation: request.operation, method: request.method, rule: decision.rule, ...(scope === undefined ? {} : { scope }), ...(request.key === undefined ? {} : { key: request.key }) },
    });
    const recorded = Promise.all([
      this.#audit(request, decision),
      this.#deps.recordEvents([
        {
          kind: 'access.denied',
          ...(scope === undefined ? {} : { scope }),
          data: { principal: request.principal.name, operation: request.operation, ...(request.key === undefined ? {} : { key: request.key }), rule: decision.rule, code },
        },
      ]),
    ]).then(
      () => undefined,
      (failure: unknown) => this.#deps.reportError(failure),
    );
    return { error, recorded };
  }

  #audit(request: Omit<AccessRequest, 'scope'> & { scope?: Scope }, decision: AccessDecision): Promise<unknown> {
    const correlationId = currentCorrelation()?.correlationId;
    const entry: AuditEntry = {
      principal: request.principal.name,
      operation: request.operation,
      outcome: decision.allowed ? 'allowed' : 'denied',
      rule: decision.rule,
      method: request.method,
      ...(request.scope === undefined ? {} : { scope: request.scope.toString() }),
      ...(request.key === undefined ? {} : { key: request.key }),
      ...(decision.by === undefined ? {} : { grantId: decision.by }),
      ...(decision.code === undefined ? {} : { code: decision.code }),
      ...(correlationId === undefined ? {} : { correlationId }),
    };
    return this.audit.append(entry);
  }
}

interface StoredAccess {
  grants: Map<string, Grant>;
  quarantines: Map<string, Quarantine>;
  /** For a read of announced keys: what each key names, with or without a record. */
  ids?: (AccessKey | undefined)[];
}

/** @throws {DATA_CORRUPT} */
function addRecord(found: StoredAccess, key: Buffer, value: Buffer): void {
  const record = decodeAccessRecord(key, value);
  if (record?.type === 'grant') found.grants.set(record.grant.id, record.grant);
  else if (record?.type === 'quarantine') found.quarantines.set(record.quarantine.agentId, record.quarantine);
}

/** A refused call: the error, and the promise that its record is durable. */
export interface Refusal {
  error: LlmStateError;
  recorded: Promise<void>;
}

function refusalMessage(request: { principal: ParsedPrincipal; operation: string; method: string; key?: string }, scope: string | undefined, decision: AccessDecision): string {
  const who = request.principal.name;
  const what = `${request.method}${scope === undefined ? '' : ` on ${scope}`}${request.key === undefined ? '' : ` (key ${JSON.stringify(request.key)})`}`;
  switch (decision.rule) {
    case 'quarantined-principal':
      return `${who} is quarantined: ${what} is refused until rt.access.release('${who.slice('agent:'.length)}')`;
    case 'quarantined-scope':
      return `${scope} belongs to a quarantined agent: ${what} by ${who} is refused until it is released`;
    case 'global-write':
      return `${who} cannot ${request.operation} the global scope (${what}): only system writes it`;
    case 'other-session':
      return `${who} is bound to another session and cannot reach ${scope} (${what})`;
    case 'session-ended':
      return `The session of ${scope} has ended: ${what} by ${who} is refused (its state is kept, read-only, until it is collected)`;
    case 'no-session':
      return `${who} is bound to ${scope}, which is no active session (never started, or collected): ${what} is refused`;
    case 'system-only':
      return `Only system may call ${request.method}; ${who} may not`;
    case 'not-own':
      return `${who} may not ${what}: it concerns another principal`;
    default:
      return `${who} has no grant to ${request.operation} ${scope ?? ''} (${what}); rt.access.grant({ principal: '${who}', scope, permissions: ['${request.operation}'] }) gives one`;
  }
}
