import type { Access } from './access/Access.js';
import type { AccessControl } from './access/AccessControl.js';
import { Gate } from './access/Gate.js';
import { guarded } from './access/guarded.js';
import { parsePrincipal } from './state/principal.js';
import { ACCESS_RULES } from './access/rules/accessRules.js';
import { BACKUPS_RULES, FAULTS_RULES, HOOKS_RULES, MIGRATIONS_RULES, SCHEMAS_RULES, SUPERVISORS_RULES } from './access/rules/adminRules.js';
import { AGENTS_RULES } from './access/rules/agentRules.js';
import { EVENTS_RULES } from './access/rules/eventRules.js';
import { SESSIONS_RULES } from './access/rules/sessionRules.js';
import { STATE_RULES } from './access/rules/stateRules.js';
import type { Agents } from './agents/Agents.js';
import type { Supervisors } from './agents/Supervisors.js';
import type { Backups } from './backup/Backups.js';
import { checkOptionsArgument } from './checkOptions.js';
import type { Events } from './events/Events.js';
import type { Hooks } from './hooks/Hooks.js';
import type { Migrations } from './schema/Migrations.js';
import type { Schemas } from './schema/Schemas.js';
import type { Sessions } from './sessions/Sessions.js';
import { normalizeScopeId } from './state/keyRules.js';
import type { StateManager } from './state/StateManager.js';
import type { FaultInjector } from '../supervisors/FaultInjector.js';

/** The namespaces of a runtime, as one principal sees them. */
export interface Namespaces {
  state: StateManager;
  events: Events;
  agents: Agents;
  supervisors: Supervisors;
  faults: FaultInjector;
  hooks: Hooks;
  backups: Backups;
  schemas: Schemas;
  migrations: Migrations;
  access: Access;
  sessions: Sessions;
}

/** What `rt.as` takes besides the principal. */
export interface AsOptions {
  /**
   * Binds the principal to one session: it reaches that session's scope, and no other session's,
   * whatever it is granted.
   */
  sessionId?: string;
}

/** Every namespace of `real` behind `gate`'s checks. */
export function namespaceViews(real: Namespaces, gate: Gate): Namespaces {
  return {
    state: guarded(real.state.withPrincipal(gate.isSystem ? undefined : gate.principal.name), STATE_RULES, gate),
    events: guarded(real.events, EVENTS_RULES, gate),
    agents: guarded(real.agents, AGENTS_RULES, gate),
    supervisors: guarded(real.supervisors, SUPERVISORS_RULES, gate),
    faults: guarded(real.faults, FAULTS_RULES, gate),
    hooks: guarded(real.hooks, HOOKS_RULES, gate),
    backups: guarded(real.backups, BACKUPS_RULES, gate),
    schemas: guarded(real.schemas, SCHEMAS_RULES, gate),
    migrations: guarded(real.migrations, MIGRATIONS_RULES, gate),
    access: guarded(real.access, ACCESS_RULES, gate),
    sessions: guarded(real.sessions, SESSIONS_RULES, gate),
  };
}

/**
 * The gate of `principal` over a runtime's access control. @throws {TypeError} for a malformed
 * principal or session id.
 */
export function gateFor(principal: string, options: AsOptions | undefined, control: () => AccessControl): Gate {
  checkOptionsArgument(options);
  const parsed = parsePrincipal(principal);
  const sessionId = options?.sessionId === undefined ? undefined : normalizeScopeId(options.sessionId, 'session id');
  if (sessionId !== undefined && parsed.kind === 'system') {
    throw new TypeError('system is bound to no session: rt.as(principal, { sessionId }) binds another principal');
  }
  return new Gate(parsed, sessionId, control);
}

/**
 * Namespace views that follow the runtime's current namespaces: a full restore replaces them, and the
 * views are built again for the new ones on first use.
 */
export class ViewCache {
  readonly #gate: Gate;
  #source: object | undefined;
  #views: Namespaces | undefined;

  constructor(gate: Gate) {
    this.#gate = gate;
  }

  get gate(): Gate {
    return this.#gate;
  }

  /** The views of `real`, built once per `source` (the runtime's current core). */
  of(source: object, real: () => Namespaces): Namespaces {
    if (this.#source !== source || this.#views === undefined) {
      this.#views = namespaceViews(real(), this.#gate);
      this.#source = source;
    }
    return this.#views;
  }
}
