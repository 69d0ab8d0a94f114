import type { ZodType } from 'zod';

/**
 * What the runtime hands the built-in `schemaReport` with each execution: a worker cannot see the zod
 * schemas the application registered, only the JSON Schemas the store keeps. The runtime decides which
 * schema applies to which key, so the worker holds no binding rules of its own.
 */
export interface SchemaReportInput {
  /** The `state.set` events whose key a schema is bound to. */
  checks: SchemaCheck[];
  /** Each version named in `checks`, by `name@version`. */
  schemas: Record<string, { hash: string; jsonSchema: unknown }>;
}

export interface SchemaCheck {
  /** The event's position in the batch. */
  index: number;
  /** The version the value must match: the schema's current one, `name@version`. */
  current: string;
  /**
   * Older versions the value may still match, newest first: the one its write was validated against,
   * or, for a write made before the key was bound, every older version.
   */
  older: string[];
}

export interface SchemaReportIssue {
  path: string;
  message: string;
  code: string;
}

/** A stored value that does not match its schema's current version. */
export interface SchemaReportFailure {
  eventId: string;
  scope: string;
  key: string;
  /** The current version, `name@version`, that the value fails. */
  schema: string;
  /** What the current version finds wrong, at most {@link MAX_ISSUES} of them. */
  issues: SchemaReportIssue[];
  /** How many issues there were beyond those listed. */
  moreIssues?: number;
}

/** A value that matches an older version only: written before the current one was registered, it needs a migration. */
export interface SchemaReportStale extends SchemaReportFailure {
  /** The newest older version it matches. */
  validUnder: string;
}

/** A value that could not be checked, because its schema's stored form has no zod equivalent. */
export interface SchemaReportSkipped {
  eventId: string;
  scope: string;
  key: string;
  schema: string;
  reason: string;
}

/** The `output` of an execution of the built-in `schemaReport`, as `rt.hooks.history()` shows it. */
export interface SchemaReportOutput {
  /** Bound values checked. */
  checked: number;
  /** Values that match neither the current version nor any older one they could have been written under. */
  failures: SchemaReportFailure[];
  stale: SchemaReportStale[];
  skipped: SchemaReportSkipped[];
}

interface SetEvent {
  id: string;
  scope: string;
  key: string;
  value: unknown;
}

/** Issues listed per value: enough to see what is wrong, while a batch of bad values stays a small result. */
export const MAX_ISSUES = 10;

/** Validators rebuilt from JSON Schemas, by hash: a version's schema never changes, so they live as long as the worker. */
const validators = new Map<string, ZodType | Error>();

/** zod costs about 100 ms to load: only workers that run this hook pay for it. */
let zod: Promise<typeof import('zod')> | undefined;

/**
 * Built-in `schemaReport`: checks each stored value whose key is bound against its schema's current
 * version, and lists those that fail as its result. A bad value is what it reports, never a reason to
 * fail.
 */
export default async function schemaReport(events: unknown[], _ctx: unknown, input: SchemaReportInput | undefined): Promise<{ output: SchemaReportOutput }> {
  const output: SchemaReportOutput = { checked: 0, failures: [], stale: [], skipped: [] };
  if (input === undefined || input.checks.length === 0) return { output };
  const { z } = await (zod ??= import('zod'));
  const validatorOf = (ref: string): ZodType | Error => {
    const stored = input.schemas[ref];
    if (stored === undefined) return new Error(`the runtime sent no JSON Schema for ${ref}`);
    let validator = validators.get(stored.hash);
    if (validator === undefined) {
      try {
        validator = z.fromJSONSchema(stored.jsonSchema as Parameters<typeof z.fromJSONSchema>[0]);
      } catch (error) {
        validator = new Error(`its stored JSON Schema has no zod form: ${(error as Error).message}`);
      }
      validators.set(stored.hash, validator);
    }
    return validator;
  };
  for (const { index, current, older } of input.checks) {
    const { id: eventId, scope, key, value } = events[index] as SetEvent;
    const where = { eventId, scope, key, schema: current };
    const validator = validatorOf(current);
    if (validator instanceof Error) {
      output.skipped.push({ ...where, reason: validator.message });
      continue;
    }
    output.checked++;
    const result = validator.safeParse(value);
    if (result.success) continue;
    const entry: SchemaReportFailure = { ...where, ...listedIssues(result.error.issues) };
    const validUnder = older.find((ref) => {
      const olderValidator = validatorOf(ref);
      return !(olderValidator instanceof Error) && olderValidator.safeParse(value).success;
    });
    if (validUnder === undefined) output.failures.push(entry);
    else output.stale.push({ ...entry, validUnder });
  }
  return { output };
}

/** Issues as `SCHEMA_INVALID` reports them: the path joined with dots. */
function listedIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string; code: string }>): Pick<SchemaReportFailure, 'issues' | 'moreIssues'> {
  const listed = issues.slice(0, MAX_ISSUES).map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message, code: issue.code }));
  return issues.length > MAX_ISSUES ? { issues: listed, moreIssues: issues.length - MAX_ISSUES } : { issues: listed };
}
