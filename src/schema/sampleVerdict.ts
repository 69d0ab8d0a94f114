import type { z } from 'zod';
import type { SchemaChange } from './schemaChange.js';
import { issuePath } from './schemaPath.js';

/** What the samples showed in one direction: from the schema that wrote a value to the one reading it. */
export interface DirectionEvidence {
  /** How many samples the writing schema accepts. */
  checked: number;
  /** The first of them the reading schema refuses. */
  counterexample?: { index: number; sample: unknown; path: string; message: string };
}

/**
 * Parses every sample the writer accepts with the reader, twice: as given, and as the writer's parse
 * returned it (what a store would hold), so that neither way of storing it is assumed.
 */
export function sampleEvidence(writer: z.ZodType, reader: z.ZodType, samples: readonly unknown[]): DirectionEvidence {
  let checked = 0;
  for (const [index, sample] of samples.entries()) {
    const written = writer.safeParse(sample);
    if (!written.success) continue;
    checked += 1;
    for (const value of [sample, written.data]) {
      const read = reader.safeParse(value);
      if (!read.success) {
        const [issue] = read.error.issues;
        return { checked, counterexample: { index, sample, path: issuePath(issue.path), message: issue.message } };
      }
    }
  }
  return { checked };
}

/**
 * Decides each undecided change by the samples, and adds a `sample-failed` change where a sample
 * refutes a direction the structure found compatible.
 */
export function decideBySamples(changes: readonly SchemaChange[], backward: DirectionEvidence, forward: DirectionEvidence): SchemaChange[] {
  const decided = changes.map((change) =>
    change.change !== 'undecided' ? change : {
      ...change,
      backward: backward.checked > 0 && backward.counterexample === undefined,
      forward: forward.checked > 0 && forward.counterexample === undefined,
      reason: `${change.reason}. Decided by the samples: ${describe(backward, 'old', 'new')}; ${describe(forward, 'new', 'old')}`,
    },
  );
  const refuted: SchemaChange[] = [];
  if (backward.counterexample !== undefined && decided.every((change) => change.backward)) {
    const { path, sample } = backward.counterexample;
    refuted.push({ path, change: 'sample-failed', from: sample, backward: false, forward: true, reason: describe(backward, 'old', 'new') });
  }
  if (forward.counterexample !== undefined && decided.every((change) => change.forward)) {
    const { path, sample } = forward.counterexample;
    refuted.push({ path, change: 'sample-failed', to: sample, backward: true, forward: false, reason: describe(forward, 'new', 'old') });
  }
  return [...decided, ...refuted];
}

function describe(evidence: DirectionEvidence, writer: string, reader: string): string {
  const { checked, counterexample } = evidence;
  if (counterexample !== undefined) {
    const where = counterexample.path === '' ? 'at the root' : `at \`${counterexample.path}\``;
    return `sample ${counterexample.index} is valid under the ${writer} schema and fails under the ${reader} ${where}: ${counterexample.message}`;
  }
  if (checked === 0) return `no sample is valid under the ${writer} schema`;
  return `the ${checked} sample${checked === 1 ? '' : 's'} valid under the ${writer} schema parse under the ${reader}`;
}
