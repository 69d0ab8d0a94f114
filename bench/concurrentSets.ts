/**
 * The workload of P2, shared by P4: 64 writers in flight, each setting a random one of 10 keys of a
 * random one of 1,000 agents to one of 64 sample values.
 */
import { Scope, type Runtime } from './common.js';
import { inFlight, rng, sampleValue } from './harness.js';

export const AGENTS = 1_000;
export const KEYS_PER_AGENT = 10;
export const IN_FLIGHT = 64;
export const VALUES = 64;

export interface ConcurrentSets {
  scopes: Scope[];
  keys: string[];
  values: unknown[];
  /**
   * Issues `n` sets, `IN_FLIGHT` at a time; the same seed gives the same sequence. With `asOwner`, each
   * set goes through `rt.as('agent:<id>')` of the agent whose scope it writes (checked, own scope).
   */
  drive(rt: Runtime, n: number, seed: number, asOwner?: boolean): Promise<void>;
}

export function concurrentSets(): ConcurrentSets {
  const scopes = Array.from({ length: AGENTS }, (_, i) => Scope.agent(`agent-${i}`));
  const keys = Array.from({ length: KEYS_PER_AGENT }, (_, i) => `k${i}`);
  const values = Array.from({ length: VALUES }, (_, i) => sampleValue(i));
  return {
    scopes,
    keys,
    values,
    drive: async (rt, n, seed, asOwner = false) => {
      const random = rng(seed);
      const states = scopes.map((scope) => (asOwner ? rt.as(`agent:${scope.id}`) : rt).state);
      await inFlight(IN_FLIGHT, n, (i) => {
        const agent = (random() * AGENTS) | 0;
        return states[agent].set(scopes[agent], keys[(random() * KEYS_PER_AGENT) | 0], values[i & (VALUES - 1)]);
      });
    },
  };
}
