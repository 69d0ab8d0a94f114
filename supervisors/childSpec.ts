/** When a child that stopped is started again (OTP restart types). */
export type RestartType = 'permanent' | 'transient' | 'temporary';
/** How a child is stopped: a grace period in ms before it is killed, at once, or however long it takes. */
export type Shutdown = number | 'brutal_kill' | 'infinity';
/** Why a child stopped. `'normal'` and `'shutdown'` are normal exits; anything else is a crash. */
export type ExitReason = 'normal' | 'shutdown' | { error: unknown };
/** Whether a child is a worker or a supervisor of its own subtree. */
export type ChildType = 'worker' | 'supervisor';

/** Given to a child when it starts; the child calls exited() when it stops on its own (crash or normal end). */
export interface ChildLink {
  exited(reason: ExitReason): void;
}

/** A running child. */
export interface ChildRef {
  /** Asks the child to finish its current work and stop. */
  stop(): Promise<void>;
  /** Stops it at once, abandoning current work. */
  kill(): void;
}

/**
 * How a supervisor starts, restarts and stops one child (OTP child spec).
 *
 * @example
 * const spec: ChildSpec = { id: 'mailer', start: async (link) => startMailer(link), restart: 'transient' };
 */
export interface ChildSpec {
  /** Unique among the supervisor's children. */
  id: string;
  /** Starts the child and resolves once it runs; a rejection is a start failure. */
  start: (link: ChildLink) => Promise<ChildRef>;
  /** @default 'permanent' */
  restart?: RestartType;
  /** @default 5000 for workers, 'infinity' for supervisors */
  shutdown?: Shutdown;
  /** @default 'worker' */
  type?: 'worker' | 'supervisor';
}

/**
 * The one kind of child a `simple_one_for_one` supervisor starts, many times over, with different arguments
 * (OTP's single child spec whose start arguments are extended by `start_child(Sup, Args)`).
 *
 * @example
 * const template: ChildTemplate<{ agentId: string }> = {
 *   id: (args) => args.agentId,
 *   start: async (link, args) => startAgent(args.agentId, link),
 *   restart: 'transient',
 * };
 */
export interface ChildTemplate<Args = unknown> {
  /** Names the child started with `args`; unique among the supervisor's children. @default `${supervisorId}-${n}` */
  id?: (args: Args) => string;
  /** Starts one child for `args`. A restart calls it again with the same `args`. */
  start: (link: ChildLink, args: Args) => Promise<ChildRef>;
  /** @default 'permanent' */
  restart?: RestartType;
  /** @default 5000 for workers, 'infinity' for supervisors */
  shutdown?: Shutdown;
  /** @default 'worker' */
  type?: 'worker' | 'supervisor';
}

/** A child spec with every default filled. @internal */
export interface ResolvedChildSpec {
  id: string;
  start: (link: ChildLink) => Promise<ChildRef>;
  restart: RestartType;
  shutdown: Shutdown;
  type: ChildType;
}

/** The defaults of a child spec (OTP's). */
export const DEFAULT_CHILD_SPEC = {
  restart: 'permanent',
  workerShutdown: 5000,
  supervisorShutdown: 'infinity',
  type: 'worker',
} as const;

/** Fills the defaults of a spec that has already been checked. @internal */
export function resolveChildSpec(spec: ChildSpec): ResolvedChildSpec {
  const type = spec.type ?? DEFAULT_CHILD_SPEC.type;
  return {
    id: spec.id,
    start: spec.start,
    restart: spec.restart ?? DEFAULT_CHILD_SPEC.restart,
    shutdown: spec.shutdown ?? (type === 'supervisor' ? DEFAULT_CHILD_SPEC.supervisorShutdown : DEFAULT_CHILD_SPEC.workerShutdown),
    type,
  };
}

/** True for `'normal'` and `'shutdown'`: the exits after which a transient child is not restarted. */
export function isNormalExit(reason: ExitReason): reason is 'normal' | 'shutdown' {
  return reason === 'normal' || reason === 'shutdown';
}

/** Whether a child of `restart` type that exited with `reason` is restarted (OTP do_restart). */
export function shouldRestart(restart: RestartType, reason: ExitReason): boolean {
  if (restart === 'permanent') return true;
  if (restart === 'transient') return !isNormalExit(reason);
  return false;
}

/** Accepts whatever a child passed to exited(), treating anything unrecognised as a crash with that value. */
export function normalizeExitReason(reason: unknown): ExitReason {
  if (reason === 'normal' || reason === 'shutdown') return reason;
  if (typeof reason === 'object' && reason !== null && 'error' in reason) return reason as { error: unknown };
  return { error: reason };
}

/** A one-line summary of an exit reason, for events: `normal`, `shutdown` or `error: <message>`. */
export function describeExitReason(reason: ExitReason): string {
  if (isNormalExit(reason)) return reason;
  const { error } = reason;
  if (error instanceof Error) return `error: ${error.message}`;
  return `error: ${String(error)}`;
}
