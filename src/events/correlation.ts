import { AsyncLocalStorage } from 'node:async_hooks';
import { customAlphabet } from 'nanoid';
import { describeOption } from '../checkOptions.js';

/** What every operation carries across awaits, mailboxes and (later) workers. */
export interface CorrelationContext {
  /**
   * Absent in a context that only names a principal (`rt.as(p)` outside `correlate`): a write made
   * there starts its own story, as one made outside any context does.
   */
  readonly correlationId?: string;
  readonly causationId?: string;
  /** Who acts: absent for `system`, else `agent:<id>` or a custom name (see src/access/principal.ts). */
  readonly principal?: string;
  readonly actorId?: string;
  /** The hook execution whose actions are being applied. */
  readonly executionId?: string;
  /** How many hook actions lie between this write and the one that started its chain. */
  readonly hop?: number;
}

const storage = new AsyncLocalStorage<CorrelationContext>();

/** The context of the running operation, if any. */
export function currentCorrelation(): CorrelationContext | undefined {
  return storage.getStore();
}

/** Runs `fn` inside `context`; everything it awaits inherits the context. */
export function runCorrelated<T>(context: CorrelationContext, fn: () => T): T {
  return storage.run(context, fn);
}

/**
 * 21 alphanumerics (125 bits). nanoid's default alphabet has `-`, and an id that starts with it reads
 * as an option to the CLI (`llmstate timeline -LBh…`), so generated ids keep to letters and digits.
 */
export const newCorrelationId: () => string = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 21);

/**
 * The context a write records: an explicit `correlationId` option wins, then the ambient context.
 * Undefined means the write starts its own story, and its event id becomes its correlation id.
 */
export function correlationForWrite(explicitId: string | undefined): CorrelationContext | undefined {
  const ambient = storage.getStore();
  if (explicitId === undefined) return ambient;
  return ambient === undefined ? { correlationId: explicitId } : { ...ambient, correlationId: explicitId };
}

/** Runs `fn` outside any correlation context, for background work that belongs to no caller. */
export function runUncorrelated<T>(fn: () => T): T {
  return storage.exit(fn);
}

const CORRELATION_ID = /^[^\x00-\x1f\x7f-\x9f]{1,128}$/;

export function checkCorrelationId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !CORRELATION_ID.test(id)) {
    throw new TypeError(
      `Expected \`correlationId\` to be 1–128 characters without control characters, got ${describeOption(id)}`,
    );
  }
}
