import { checkOptions } from '../checkOptions.js';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { normalizePrincipal } from '../state/principal.js';
import { checkKindPatterns } from '../events/checkKindPatterns.js';
import { kindMatcher } from '../events/kindPattern.js';
import { SCOPE_KINDS, type ScopeKind } from '../state/Scope.js';
import { checkRedactPaths } from '../redaction/index.js';

/** The built-in hooks, which ship with llmstate (see docs/hooks.md). */
export const BUILTIN_HOOKS = ['audit', 'metrics', 'schemaReport', 'cacheInvalidation'] as const;
export type BuiltinHookName = (typeof BUILTIN_HOOKS)[number];

/** Which changes reach a hook, beyond its event kinds. */
export interface HookFilter {
  /** Only changes to scopes of these kinds (events without a scope never match). */
  scopeKinds?: ScopeKind[];
  /** Only changes to keys that start with this (events without a key never match). */
  keyPrefix?: string;
}

/** How long retries wait: `initialMs`, doubling per attempt up to `maxMs`, with jitter. */
export interface HookBackoff {
  /** @default 100 */
  initialMs?: number;
  /** @default 30000 */
  maxMs?: number;
}

/** When a hook's circuit breaker opens, and for how long. */
export interface HookBreakerOptions {
  /** Failures or timeouts within `windowMs` that open the breaker. @default 5 */
  failureThreshold?: number;
  /** @default 30000 */
  windowMs?: number;
  /** How long the breaker stays open before one probe execution may run (half-open). @default 10000 */
  cooldownMs?: number;
}

/** What {@link Hooks.register} takes. */
export interface HookRegistration {
  /** Unique name: letters, digits, `.`, `_` and `-`, at most 64 characters, starting alphanumeric. */
  name: string;
  /** The hook module: a path (relative to the working directory) or a `file:` URL. Its default export runs. */
  module?: string | URL;
  /** A built-in hook instead of a module. */
  builtin?: BuiltinHookName;
  /**
   * Event kinds, with `*` wildcards: `state.set`, `state.*`, `agent.*`, `*`. A pattern that matches no
   * known kind (`EVENT_KINDS`) is refused with `VALUE_INVALID`.
   */
  on: string[];
  filter?: HookFilter;
  /** Time limit of one execution; a run past it is stopped (its worker replaced) and retried. @default 5000 */
  timeoutMs?: number;
  /** Tries per batch of events before it is dead-lettered. @default 5 */
  maxAttempts?: number;
  /** Higher runs first when workers are scarce, and its history is kept longer. @default 0 */
  priority?: number;
  /** JSON paths hidden in the recorded input and result, beyond the built-in secret rules (docs/hooks.md). */
  redact?: string[];
  /** Most events in one execution (whole commit batches are never split). @default 1000 */
  batchSize?: number;
  /** Executions of this hook that may run at once. 1 keeps deliveries in commit order. @default 1 */
  concurrency?: number;
  /** The hook is disabled, with a `hook.disabled` event, when its p95 duration exceeds this. @default timeoutMs */
  budgetMs?: number;
  /** Most events waiting for this hook; more are dead-lettered and counted. @default 100000 */
  maxPending?: number;
  backoff?: HookBackoff;
  breaker?: HookBreakerOptions;
  /** JSON data handed to the hook as `ctx.options`. */
  options?: unknown;
  /**
   * The principal the hook's actions act as. @default the principal whose write triggered each action's
   * event (`system` for a write made on `rt`)
   */
  principal?: string;
}

/** A registration with every default filled in, as stored. */
export interface HookDefinition {
  name: string;
  /** A `file:` URL, or `builtin:<name>`. */
  module: string;
  builtin?: BuiltinHookName;
  on: string[];
  filter: { scopeKinds?: ScopeKind[]; keyPrefix?: string };
  timeoutMs: number;
  maxAttempts: number;
  priority: number;
  redact: string[];
  batchSize: number;
  concurrency: number;
  budgetMs: number;
  maxPending: number;
  backoff: Required<HookBackoff>;
  breaker: Required<HookBreakerOptions>;
  options?: unknown;
  /** Set when the registration named the principal its actions act as. */
  principal?: string;
  registeredAt: number;
  /** Set when the hook was disabled, by its latency budget or by hand; its executions wait. */
  disabled?: { reason: string; at: number };
}

export const HOOK_DEFAULTS = {
  timeoutMs: 5000,
  maxAttempts: 5,
  priority: 0,
  batchSize: 1000,
  concurrency: 1,
  maxPending: 100_000,
  backoff: { initialMs: 100, maxMs: 30_000 },
  breaker: { failureThreshold: 5, windowMs: 30_000, cooldownMs: 10_000 },
} as const;

const HOOK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const positiveInteger = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

const FIELDS = {
  name: [z.string().regex(HOOK_NAME), 'a name of letters, digits, `.`, `_` and `-` (at most 64, starting alphanumeric)'],
  module: [z.union([z.string().min(1), z.instanceof(URL)]), 'a path or a file: URL'],
  builtin: [z.enum(BUILTIN_HOOKS), `one of ${BUILTIN_HOOKS.map((b) => `'${b}'`).join(', ')}`],
  on: [z.array(z.string().regex(/^[A-Za-z0-9._*-]{1,64}$/)).min(1), 'a non-empty array of event kinds such as `state.set` or `agent.*`'],
  filter: [
    z.strictObject({ scopeKinds: z.array(z.enum(SCOPE_KINDS)).min(1).optional(), keyPrefix: z.string().min(1).optional() }),
    `an object with \`scopeKinds\` (of ${SCOPE_KINDS.join(', ')}) and/or a non-empty \`keyPrefix\``,
  ],
  timeoutMs: [positiveInteger, 'a positive integer'],
  maxAttempts: [positiveInteger.max(100), 'an integer from 1 to 100'],
  priority: [z.number().int().min(-100).max(100), 'an integer from -100 to 100'],
  redact: [z.array(z.string()), 'an array of JSON paths'],
  batchSize: [positiveInteger.max(10_000), 'an integer from 1 to 10000'],
  concurrency: [positiveInteger.max(64), 'an integer from 1 to 64'],
  budgetMs: [positiveInteger, 'a positive integer'],
  maxPending: [positiveInteger, 'a positive integer'],
  backoff: [z.strictObject({ initialMs: positiveInteger.optional(), maxMs: positiveInteger.optional() }), 'an object with positive integers `initialMs` and `maxMs`'],
  breaker: [
    z.strictObject({ failureThreshold: positiveInteger.optional(), windowMs: positiveInteger.optional(), cooldownMs: positiveInteger.optional() }),
    'an object with positive integers `failureThreshold`, `windowMs` and `cooldownMs`',
  ],
  options: [z.json(), 'JSON data'],
  principal: [z.string(), "a principal: 'system', 'agent:<id>' or a custom name"],
} as const satisfies Record<keyof HookRegistration, readonly [z.ZodType, string]>;

/**
 * Checks a registration at the edge and fills its defaults.
 *
 * @throws {TypeError} reading like ``Expected `timeoutMs` to be a positive integer, got `0` (number)``.
 * @throws {EVENT_KIND_UNKNOWN} when a pattern of `on` matches no event kind.
 */
export function resolveHookDefinition(input: unknown, now: number): HookDefinition {
  const r = checkOptions(input, FIELDS, { what: 'the hook registration', field: 'hook option', required: ['name', 'on'] });
  const { name, on } = r;
  if ((r.module === undefined) === (r.builtin === undefined)) {
    throw new TypeError('Expected exactly one of `module` (a path or file: URL) and `builtin`');
  }
  if (r.redact !== undefined) checkRedactPaths(r.redact);
  const timeoutMs = r.timeoutMs ?? HOOK_DEFAULTS.timeoutMs;
  checkKindPatterns(on, '`on`');
  return {
    name,
    module: r.builtin === undefined ? moduleUrl(r.module!) : `builtin:${r.builtin}`,
    ...(r.builtin === undefined ? {} : { builtin: r.builtin }),
    on: [...new Set(on)],
    filter: { ...r.filter },
    timeoutMs,
    maxAttempts: r.maxAttempts ?? HOOK_DEFAULTS.maxAttempts,
    priority: r.priority ?? HOOK_DEFAULTS.priority,
    redact: r.redact ?? [],
    batchSize: r.batchSize ?? HOOK_DEFAULTS.batchSize,
    concurrency: r.concurrency ?? HOOK_DEFAULTS.concurrency,
    budgetMs: r.budgetMs ?? timeoutMs,
    maxPending: r.maxPending ?? HOOK_DEFAULTS.maxPending,
    backoff: { ...HOOK_DEFAULTS.backoff, ...r.backoff },
    breaker: { ...HOOK_DEFAULTS.breaker, ...r.breaker },
    ...(r.options === undefined ? {} : { options: r.options }),
    ...(r.principal === undefined ? {} : { principal: normalizePrincipal(r.principal) }),
    registeredAt: now,
  };
}

/** @throws {TypeError} for a URL that is not a `file:` URL. */
function moduleUrl(module: string | URL): string {
  if (module instanceof URL || /^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)) {
    const url = new URL(String(module));
    if (url.protocol !== 'file:') throw new TypeError(`Expected \`module\` to be a path or a file: URL, got \`${url.href}\``);
    return url.href;
  }
  return pathToFileURL(isAbsolute(module) ? module : resolve(module)).href;
}

/** Whether an event, by its kind, scope kind and key, is one a hook of this definition takes. */
export type EventMatcher = (kind: string, scopeKind: string | undefined, key: string | undefined) => boolean;

/** The matcher of a definition's `on` patterns and `filter`, built once per definition. */
export function eventMatcher(definition: Pick<HookDefinition, 'on' | 'filter'>): EventMatcher {
  const kindMatchers = definition.on.map(kindMatcher);
  const matchKind = kindMatchers.length === 1 ? kindMatchers[0] : (kind: string) => kindMatchers.some((matches) => matches(kind));
  const { scopeKinds, keyPrefix } = definition.filter;
  return (kind, scopeKind, key) => {
    if (!matchKind(kind)) return false;
    if (scopeKinds !== undefined && (scopeKind === undefined || !scopeKinds.includes(scopeKind as never))) return false;
    if (keyPrefix !== undefined && (key === undefined || !key.startsWith(keyPrefix))) return false;
    return true;
  };
}
