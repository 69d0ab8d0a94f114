import type { AgentHandle } from '../agents/Agents.js';
import type { Runtime } from '../runtime.js';
import type { RuntimeOptions } from '../runtimeOptions.js';
import type { Scope } from '../state/Scope.js';
import type { Styles } from './output.js';
import type { StoreSource } from './storeSource.js';

/** What the steps of the demo share. */
export interface DemoContext {
  readonly store: StoreSource;
  /** What the steps open the runtime with: the store, and on PostgreSQL the demo's backup directory. */
  readonly runtimeOptions: RuntimeOptions;
  /**
   * True when the store had no commit before the demo, so that it must hold exactly what the demo wrote;
   * found when the demo first opens it.
   */
  freshStore: boolean;
  /** The open runtime, or undefined between a close and a reopen. */
  rt: Runtime | undefined;
  /** Every value written, by scope text then key, as JSON round-tripped data: what a read must return. */
  readonly written: Map<string, { scope: Scope; values: Map<string, unknown> }>;
  /** The agents the demo runs, by id; emptied when the runtime closes. */
  readonly agents: Map<string, AgentHandle>;
  /** The correlation of the write the demo's hook reacted to, once written. */
  hookCorrelationId: string | undefined;
  /** The commit sequence reached before the demo's agents were spawned: later events are this run's. */
  agentsFromSeq: number;
  /** Checks that failed so far; the demo exits 1 when there is any. */
  failures: number;
  readonly styles: Styles;
  /** Prints one indented line under the current step. */
  say(text: string): void;
  /** Prints a ✓ or ✗ line and counts a failure. */
  check(ok: boolean, text: string): void;
  /** The open runtime. @throws {Error} between a close and a reopen, which is a bug in a step. */
  runtime(): Runtime;
}

/** One numbered step of the demo. */
export interface DemoStep {
  title: string;
  run(ctx: DemoContext): Promise<void>;
}
