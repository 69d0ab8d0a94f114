import type { SchemaCheck, SchemaReportInput } from '../../workers/builtins/schemaReport.js';
import type { HookEvent } from '../hooks/types.js';
import { Scope } from '../state/Scope.js';
import type { SchemaRegistry } from './SchemaRegistry.js';
import { compareVersions, parseSchemaRef } from './version.js';

/**
 * What the built-in `schemaReport` needs to check a batch of events in a worker: for each `state.set`
 * whose key is bound, the version the value must match and the older versions it may still match, and
 * the stored JSON Schema of each version named, once. Only the schemas the batch needs are sent.
 *
 * The older versions follow the rule `plan` and `check` read a record's version by: the version the
 * write was validated against when its event names one; for a write made before its key was bound,
 * every older version, newest first.
 */
export function schemaReportInput(registry: SchemaRegistry, events: readonly HookEvent[]): SchemaReportInput {
  const input: SchemaReportInput = { checks: [], schemas: {} };
  if (!registry.hasBindings) return input;
  const need = (name: string, version: string): string => {
    const ref = `${name}@${version}`;
    if (input.schemas[ref] === undefined) {
      const { hash, jsonSchema } = registry.version(name, version)!.stored;
      input.schemas[ref] = { hash, jsonSchema };
    }
    return ref;
  };
  for (const [index, event] of events.entries()) {
    if (event.kind !== 'state.set' || typeof event.scope !== 'string' || typeof event.key !== 'string') continue;
    const scope = parseScope(event.scope);
    const binding = scope === undefined ? undefined : registry.bindingFor(scope, event.key);
    if (binding === undefined) continue;
    const name = binding.schema;
    const current = registry.current(name);
    if (current === undefined) continue;
    const check: SchemaCheck = { index, current: need(name, current), older: [] };
    for (const version of olderVersions(registry, name, current, event.schema)) check.older.push(need(name, version));
    input.checks.push(check);
  }
  return input;
}

/** The versions older than `current` that a value written under `writtenUnder` may match, newest first. */
function olderVersions(registry: SchemaRegistry, name: string, current: string, writtenUnder: string | undefined): string[] {
  const written = writtenUnder === undefined ? undefined : refOf(writtenUnder);
  if (written !== undefined && written.name === name) {
    const known = registry.version(name, written.version) !== undefined && compareVersions(written.version, current) < 0;
    return known ? [written.version] : [];
  }
  return registry
    .versions(name)
    .map((entry) => entry.stored.version)
    .filter((version) => compareVersions(version, current) < 0)
    .reverse();
}

/** A patched replay may carry anything where a scope belongs: such an event is not checked. */
function parseScope(text: string): Scope | undefined {
  try {
    return Scope.parse(text);
  } catch {
    return undefined;
  }
}

function refOf(ref: string): { name: string; version: string } | undefined {
  try {
    return parseSchemaRef(ref);
  } catch {
    return undefined;
  }
}
