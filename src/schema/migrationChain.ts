import { describeOption } from '../checkOptions.js';
import { LlmStateError } from '../errors.js';
import { checkSchemaName, checkVersion, compareVersions } from './version.js';

/** A defined migration, by the versions it goes between. */
export interface MigrationEdge {
  from: string;
  to: string;
}

/**
 * The shortest chain of defined migrations from version `from` to version `to` of a schema: the fewest
 * migrations. Among chains equally short, the one whose first intermediate version is the highest wins,
 * then the one whose second is, and so on, so the answer never depends on the order of `edges`. A
 * migration to a lower version (a downgrade) is a step like any other. `from === to` gives no step. The
 * edges returned are the objects given in `edges`.
 *
 * @param registered The schema's registered versions, which the error names when no chain exists.
 * @throws {MIGRATION_NO_PATH} naming the first missing migration: from the furthest version that the
 *   migrations from `from` reach, to the next registered version after it, which none reaches, with the
 *   `rt.migrations.define` call that adds it. `details` holds `schema`, `from`, `to`, `reached` and `missing`.
 * @throws {TypeError} when the schema name or a version is not valid.
 * @example findChain('profile', [{ from: '1.0.0', to: '1.1.0' }, { from: '1.1.0', to: '2.0.0' }], '1.0.0', '2.0.0', ['1.0.0', '1.1.0', '2.0.0'])
 * // [{ from: '1.0.0', to: '1.1.0' }, { from: '1.1.0', to: '2.0.0' }]
 */
export function findChain<Edge extends MigrationEdge>(
  schema: string,
  edges: readonly Edge[],
  from: string,
  to: string,
  registered: readonly string[],
): Edge[] {
  checkSchemaName(schema, 'schema');
  checkVersion(from, 'from');
  checkVersion(to, 'to');
  checkEdges(edges);
  checkRegistered(registered);
  if (from === to) return [];
  const outgoing = groupBy(edges, 'from');
  const stepsToTarget = distancesTo(to, groupBy(edges, 'to'));
  if (!stepsToTarget.has(from)) throw noPath(schema, from, to, outgoing, stepsToTarget, registered);
  const chain: Edge[] = [];
  for (let at = from; at !== to; ) {
    const remaining = stepsToTarget.get(at)!;
    let best: Edge | undefined;
    for (const edge of outgoing.get(at) ?? []) {
      if (stepsToTarget.get(edge.to) !== remaining - 1) continue;
      if (best === undefined || compareVersions(edge.to, best.to) > 0) best = edge;
    }
    chain.push(best!);
    at = best!.to;
  }
  return chain;
}

/** For each version that can reach `target`, the fewest migrations it takes. */
function distancesTo(target: string, incoming: Map<string, MigrationEdge[]>): Map<string, number> {
  const distances = new Map([[target, 0]]);
  const queue = [target];
  for (let i = 0; i < queue.length; i++) {
    const version = queue[i];
    for (const edge of incoming.get(version) ?? []) {
      if (distances.has(edge.from)) continue;
      distances.set(edge.from, distances.get(version)! + 1);
      queue.push(edge.from);
    }
  }
  return distances;
}

function reachableFrom(start: string, outgoing: Map<string, MigrationEdge[]>): string[] {
  const seen = new Set([start]);
  for (const version of seen) {
    for (const edge of outgoing.get(version) ?? []) seen.add(edge.to);
  }
  return [...seen];
}

function noPath(
  schema: string,
  from: string,
  to: string,
  outgoing: Map<string, MigrationEdge[]>,
  stepsToTarget: Map<string, number>,
  registered: readonly string[],
): LlmStateError {
  // Towards `to`: up for an upgrade, down for a downgrade.
  const direction = compareVersions(from, to) < 0 ? 1 : -1;
  const before = (a: string, b: string) => direction * compareVersions(a, b) < 0;
  const furthest = (a: string, b: string) => (before(a, b) ? b : a);
  const nearest = (a: string, b: string) => (before(a, b) ? a : b);
  const reached = reachableFrom(from, outgoing)
    .filter((version) => before(version, to))
    .reduce(furthest);
  const next = [...registered, to].filter((version) => before(reached, version) && !before(to, version)).reduce(nearest);
  const where =
    reached === from
      ? `no migration from ${from} reaches a version on the way to ${to}`
      : `the furthest that migrations from ${from} reach on the way to ${to} is ${reached}`;
  const straight = next === to ? '' : `, or one from ${reached} straight to ${to}`;
  const more = next === to || stepsToTarget.has(next) ? '' : ` ${next} has no path to ${to} either, so more migrations are missing after it.`;
  return new LlmStateError(
    'MIGRATION_NO_PATH',
    `Schema \`${schema}\` has no migration path from ${from} to ${to}: ${where}, and none goes from ${reached} to ${next}` +
      `${next === to ? '' : ', the next registered version'}. Define it with ` +
      `rt.migrations.define({ schema: '${schema}', from: '${reached}', to: '${next}', steps: [...] })${straight}.${more}`,
    { details: { schema, from, to, reached, missing: { from: reached, to: next } } },
  );
}

function groupBy<Edge extends MigrationEdge>(edges: readonly Edge[], end: 'from' | 'to'): Map<string, Edge[]> {
  const groups = new Map<string, Edge[]>();
  for (const edge of edges) {
    if (edge.from === edge.to) continue;
    const group = groups.get(edge[end]);
    if (group === undefined) groups.set(edge[end], [edge]);
    else group.push(edge);
  }
  return groups;
}

function checkEdges(edges: unknown): void {
  if (!Array.isArray(edges)) throw new TypeError(`Expected \`edges\` to be an array of migrations { from, to }, got ${describeOption(edges)}`);
  for (const [i, edge] of edges.entries()) {
    if (typeof edge !== 'object' || edge === null) {
      throw new TypeError(`Expected \`edges[${i}]\` to be a migration { from, to }, got ${describeOption(edge)}`);
    }
    checkVersion(edge.from, `edges[${i}].from`);
    checkVersion(edge.to, `edges[${i}].to`);
  }
}

function checkRegistered(registered: unknown): void {
  if (!Array.isArray(registered)) throw new TypeError(`Expected \`registered\` to be an array of versions, got ${describeOption(registered)}`);
  for (const [i, version] of registered.entries()) checkVersion(version, `registered[${i}]`);
}
