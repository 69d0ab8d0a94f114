/**
 * Every stable error code the runtime raises (DESIGN §12). Codes never change meaning; messages may.
 */
export const ERROR_CODES = [
  'STATE_KEY_INVALID',
  'SCOPE_INVALID',
  'VALUE_INVALID',
  'VALUE_TOO_LARGE',
  'SCHEMA_INVALID',
  'SCHEMA_INCOMPATIBLE',
  'ACCESS_DENIED',
  'AGENT_QUARANTINED',
  'AGENT_NOT_FOUND',
  'ACTOR_STOPPED',
  'ACTOR_CRASHED',
  'SUPERVISOR_SHUTDOWN',
  'STORAGE_FAILED',
  'RUNTIME_CLOSED',
  'DATA_CORRUPT',
  'HOOK_TIMEOUT',
  'HOOK_FAILED',
  'CIRCUIT_OPEN',
  'MIGRATION_FAILED',
  'MIGRATION_NO_PATH',
  'BACKUP_CORRUPT',
  'BACKUP_KEY_REQUIRED',
  'BACKUP_NOT_FOUND',
  'RESTORE_FAILED',
  'TRANSACTION_TIMEOUT',
  'EVENT_KIND_UNKNOWN',
  'BACKUP_FULL_REQUIRED',
  'IMPORT_FAILED',
  'LEASE_LOST',
  'SCOPE_LEASED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface LlmStateErrorOptions {
  /** The underlying error, when this one wraps another. */
  cause?: unknown;
  /** Structured context: the key, the scope, the rule broken, and so on. */
  details?: Record<string, unknown>;
}

/**
 * The one error class of the runtime. Branch on `code`, never on `message`.
 *
 * @example
 * try { await rt.state.set(scope, '/etc', 1) }
 * catch (err) { if (err instanceof LlmStateError && err.code === 'STATE_KEY_INVALID') … }
 */
export class LlmStateError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: LlmStateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LlmStateError';
    this.code = code;
    this.details = options.details;
  }
}

/** True when `err` is an {@link LlmStateError}, optionally with the given code. */
export function isLlmStateError(err: unknown, code?: ErrorCode): err is LlmStateError {
  return err instanceof LlmStateError && (code === undefined || err.code === code);
}
