/**
 * The schema P1 and P2 bind their keys to for their `bound` variants: a zod object matching
 * `sampleValue`, so that every write is validated and its record names `sample@1.0.0`.
 */
import { z } from 'zod';
import type { Runtime } from './common.js';

export const SAMPLE_SCHEMA = z.object({ role: z.string(), n: z.number(), text: z.string() });

/** Registers the sample schema and binds it to the agent keys that start with `keyPrefix`. */
export async function bindSampleSchema(rt: Runtime, keyPrefix: string): Promise<void> {
  await rt.schemas.register({ name: 'sample', version: '1.0.0', schema: SAMPLE_SCHEMA });
  await rt.schemas.bind('sample', { scopeKind: 'agent', keyPrefix });
}
