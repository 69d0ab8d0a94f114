import type { ChildLink, ChildRef, ChildSpec, ExitReason, RestartType, Shutdown } from '../../supervisors/childSpec.js';
import type { SupervisorEvent } from '../../supervisors/supervisorEvents.js';
import { Supervisor } from '../../supervisors/Supervisor.js';
import type { SupervisorOptions } from '../../supervisors/supervisorOptions.js';
import { ManualTimers } from '../ManualTimers.js';

/** How a fake child answers stop(). */
export type StopBehaviour = 'resolve' | 'hang' | 'reject' | 'manual';

export interface FakeOptions {
  restart?: RestartType;
  shutdown?: Shutdown;
  stop?: StopBehaviour;
}

/** One run of a fake child. */
export class FakeChild implements ChildRef {
  readonly id: string;
  readonly run: number;
  readonly link: ChildLink;
  alive = true;
  readonly #log: string[];
  readonly #stop: StopBehaviour;
  #finishStop: (() => void) | undefined;

  constructor(id: string, run: number, link: ChildLink, log: string[], stop: StopBehaviour) {
    this.id = id;
    this.run = run;
    this.link = link;
    this.#log = log;
    this.#stop = stop;
  }

  stop(): Promise<void> {
    this.#log.push(`stop:${this.id}`);
    if (this.#stop === 'hang') return new Promise(() => {});
    if (this.#stop === 'reject') return Promise.reject(new Error(`${this.id} refused to stop`));
    if (this.#stop === 'manual') {
      return new Promise((resolve) => {
        this.#finishStop = () => {
          this.alive = false;
          resolve();
        };
      });
    }
    this.alive = false;
    return Promise.resolve();
  }

  /** Lets a stop() of a child made with `stop: 'manual'` resolve. */
  finishStop(): void {
    if (this.#finishStop === undefined) throw new Error(`${this.id} is not stopping`);
    this.#finishStop();
  }

  kill(): void {
    this.#log.push(`kill:${this.id}`);
    this.alive = false;
  }

  /** Stops on its own and tells the supervisor why. */
  exit(reason: ExitReason): void {
    this.alive = false;
    this.#log.push(`exit:${this.id}`);
    this.link.exited(reason);
  }

  crash(message = `${this.id} crashed`): void {
    this.exit({ error: new Error(message) });
  }
}

/** Makes child specs whose runs are recorded in one log, in order: `start:a`, `stop:a`, `kill:a`, `fail:a`, `exit:a`. */
export class FakeChildren {
  readonly log: string[] = [];
  readonly #current = new Map<string, FakeChild>();
  readonly #runs = new Map<string, number>();
  readonly #failures = new Map<string, number>();
  readonly #pendingStarts = new Map<string, Array<() => void>>();
  readonly #slow = new Set<string>();

  spec(id: string, options: FakeOptions = {}): ChildSpec {
    return {
      id,
      ...(options.restart === undefined ? {} : { restart: options.restart }),
      ...(options.shutdown === undefined ? {} : { shutdown: options.shutdown }),
      start: (link) => this.start(id, link, options.stop ?? 'resolve'),
    };
  }

  specs(ids: string[], options: FakeOptions = {}): ChildSpec[] {
    return ids.map((id) => this.spec(id, options));
  }

  async start(id: string, link: ChildLink, stop: StopBehaviour = 'resolve'): Promise<FakeChild> {
    if (this.#slow.has(id)) {
      await new Promise<void>((resolve) => {
        const waiting = this.#pendingStarts.get(id) ?? [];
        waiting.push(resolve);
        this.#pendingStarts.set(id, waiting);
      });
    }
    const failures = this.#failures.get(id) ?? 0;
    if (failures > 0) {
      this.#failures.set(id, failures - 1);
      this.log.push(`fail:${id}`);
      throw new Error(`${id} failed to start`);
    }
    const run = (this.#runs.get(id) ?? 0) + 1;
    this.#runs.set(id, run);
    const child = new FakeChild(id, run, link, this.log, stop);
    this.#current.set(id, child);
    this.log.push(`start:${id}`);
    return child;
  }

  /** The next `times` starts of `id` reject. */
  failStarts(id: string, times = Number.POSITIVE_INFINITY): void {
    this.#failures.set(id, times);
  }

  /** Starts of `id` wait for release(id). */
  holdStarts(id: string): void {
    this.#slow.add(id);
  }

  release(id: string): void {
    this.#slow.delete(id);
    for (const resolve of this.#pendingStarts.get(id) ?? []) resolve();
    this.#pendingStarts.delete(id);
  }

  /** The latest run of `id`. */
  current(id: string): FakeChild {
    const child = this.#current.get(id);
    if (child === undefined) throw new Error(`${id} never started`);
    return child;
  }

  runs(id: string): number {
    return this.#runs.get(id) ?? 0;
  }

  crash(id: string, message?: string): void {
    this.current(id).crash(message);
  }

  exit(id: string, reason: ExitReason): void {
    this.current(id).exit(reason);
  }

  /** The log since the last take(), which it empties. */
  take(): string[] {
    return this.log.splice(0, this.log.length);
  }
}

/** A supervisor on manual time, with its events collected. */
export function harness<A = never>(
  options: Omit<SupervisorOptions<A>, 'clock' | 'timers' | 'emit'> & Partial<Pick<SupervisorOptions<A>, 'emit'>>,
  timers = new ManualTimers(),
): { sup: Supervisor<A>; timers: ManualTimers; events: SupervisorEvent[] } {
  const events: SupervisorEvent[] = [];
  const sup = new Supervisor<A>({
    emit: (event) => events.push(event),
    ...options,
    clock: timers.clock,
    timers,
  });
  return { sup, timers, events };
}

/** The types of `events`, each with its child, e.g. `supervisor.child_restarted a`. */
export function eventLog(events: SupervisorEvent[]): string[] {
  return events.map((event) => ('child' in event && event.child !== undefined ? `${event.type} ${event.child}` : event.type));
}
