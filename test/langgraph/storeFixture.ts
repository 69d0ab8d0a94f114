import { createRuntime, type Runtime, type Scope } from '../../src/index.js';
import { LlmStateStore } from '../../src/langgraph/index.js';
import type { LlmStateStoreOptions } from '../../src/langgraph/index.js';
import type { StoreState, Unit } from '../../src/langgraph/store/storeState.js';

/** A store on `rt`; a memory runtime when none is given. */
export async function openStore(options?: LlmStateStoreOptions, rt?: Runtime): Promise<{ store: LlmStateStore; rt: Runtime }> {
  const runtime = rt ?? (await createRuntime({ memory: true }));
  const seamed = typeof (runtime.state as unknown as Partial<StoreState>).commitUnit === 'function' ? runtime : shimmed(runtime);
  return { store: new LlmStateStore(seamed, options), rt: runtime };
}

const known = new WeakMap<Runtime, Map<string, Scope>>();

/** The state seam over the public API, until the real one lands (scopes are only those written through it). */
function shimmed(rt: Runtime): Runtime {
  const scopesOf = known.get(rt) ?? new Map<string, Scope>();
  known.set(rt, scopesOf);
  const state: StoreState = {
    get: (scope, key) => rt.state.get(scope, key),
    async commitUnit<R>(scope: Scope, unit: Unit<R>) {
      scopesOf.set(scope.toString(), scope);
      return rt.state.transaction(scope, async (tx) => {
        const current = new Map<string, unknown>();
        for (const key of unit.reads ?? []) current.set(key, await tx.get(key));
        const plan = unit.build(current);
        for (const { key, value } of plan.writes ?? []) if (value === undefined) tx.delete(key);
        else tx.set(key, value);
        return plan.result;
      });
    },
    async entries(scope, range = {}) {
      const keys = (await rt.state.listKeys(scope, { prefix: range.prefix ?? '' })).filter((key) => range.gt === undefined || key > range.gt);
      const picked = range.limit === undefined ? keys : keys.slice(0, range.limit);
      return Promise.all(picked.map(async (key) => [key, await rt.state.get(scope, key)] as [string, unknown]));
    },
    async scopes({ prefix = '', after, limit = Infinity }) {
      const held: Scope[] = [];
      for (const scope of [...scopesOf.values()].sort((a, b) => (a.ids[0]! < b.ids[0]! ? -1 : 1))) {
        if (!scope.ids[0]!.startsWith(prefix) || (after !== undefined && scope.ids[0]! <= after.ids[0]!)) continue;
        if ((await rt.state.listKeys(scope)).length > 0) held.push(scope);
      }
      return held.slice(0, limit);
    },
  };
  return { state } as unknown as Runtime;
}
