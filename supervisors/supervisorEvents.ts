/** Fields every supervisor event carries. */
interface SupervisorEventBase {
  /** The id of the supervisor that emits it. */
  supervisor: string;
  /** When, by the supervisor's clock (ms since the epoch). */
  at: number;
}

/**
 * What a supervisor reports through its `emit` option. Each event names the supervisor and, but for a
 * `supervisor.shutdown` caused by stop() or kill(), the child concerned.
 */
export type SupervisorEvent =
  /** A child started for the first time (by start() or startChild()). */
  | (SupervisorEventBase & { type: 'supervisor.child_started'; child: string })
  /** A restart of a child failed to start it; it is retried within the restart budget. */
  | (SupervisorEventBase & { type: 'supervisor.child_start_failed'; child: string; error: unknown })
  /** A child stopped on its own; `reason` is `normal`, `shutdown` or `error: <message>`. */
  | (SupervisorEventBase & { type: 'supervisor.child_exited'; child: string; reason: string })
  /** A child was started again, by its strategy or by restartChild(); `restarts` counts its restarts so far. */
  | (SupervisorEventBase & { type: 'supervisor.child_restarted'; child: string; restarts: number })
  /**
   * The supervisor stopped a child: `how` says whether stop() completed or it was killed, `timedOut` whether
   * its grace period ran out first, and `error` what stop() or kill() threw, if anything.
   */
  | (SupervisorEventBase & {
      type: 'supervisor.child_terminated';
      child: string;
      how: 'stopped' | 'killed';
      timedOut: boolean;
      error?: unknown;
    })
  /** More than `intensity` restarts within `period`: the supervisor gives up, after `child` stopped once too often. */
  | (SupervisorEventBase & {
      type: 'supervisor.restart_intensity_reached';
      child: string;
      intensity: number;
      period: number;
    })
  /** The supervisor has stopped all its children and is down for good. */
  | (SupervisorEventBase & {
      type: 'supervisor.shutdown';
      child?: string;
      reason: 'shutdown' | 'killed' | 'reached_max_restart_intensity' | 'failed_to_start_child' | 'internal_error';
    });

/** The `type` of every supervisor event. */
export type SupervisorEventType = SupervisorEvent['type'];
