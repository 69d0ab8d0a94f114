import { seededRandom } from '../../src/seededRandom.js';

/** What a plan of faults depends on: the seed, and the run's length and lease. */
export interface FaultPlanOptions {
  seed: number;
  faults: number;
  durationMs: number;
  ttlMs: number;
}

/**
 * One fault of a plan. `pick` chooses the victim among the processes that are running when it comes due
 * (that set depends on the faults before it, not on timing, except for a replacement still starting).
 */
export type Fault =
  | { at: number; kind: 'kill'; pick: number }
  | { at: number; kind: 'pause'; pick: number; forMs: number }
  | { at: number; kind: 'partition'; pick: number; forMs: number }
  | { at: number; kind: 'dropConnections'; pick: number };

/**
 * The faults of a run, from its seed alone: kills, pauses past the lease or within it, a process cut off
 * from the database past the lease, dropped connections.
 */
export function chaosFaults(options: FaultPlanOptions): Fault[] {
  const random = seededRandom(options.seed);
  const faults: Fault[] = [];
  for (let i = 0; i < options.faults; i++) {
    const at = Math.round(options.durationMs * (0.1 + 0.75 * random()));
    const roll = random();
    const pick = random();
    if (roll < 0.25) faults.push({ at, kind: 'kill', pick });
    else if (roll < 0.45) faults.push({ at, kind: 'pause', pick, forMs: Math.round(options.ttlMs * 2.5) });
    else if (roll < 0.6) faults.push({ at, kind: 'pause', pick, forMs: Math.round(options.ttlMs * 0.3) });
    else if (roll < 0.8) faults.push({ at, kind: 'partition', pick, forMs: Math.round(options.ttlMs * 2.5) });
    else faults.push({ at, kind: 'dropConnections', pick });
  }
  return faults.sort((a, b) => a.at - b.at);
}
