/**
 * Probe helper: emulates the proposed LevelBackend batch fix by patching classic-level (see whatIf.ts).
 *   noopts:  db.batch(ops) with no options object unless sync is asked for
 *   chained: one root chained batch, keys pre-prefixed with the sublevel prefix, no per-op options
 * Only batches whose ops carry `sublevel` (the runtime's) are rerouted; raw baselines are untouched.
 */
import { ClassicLevel } from 'classic-level';
export let patchedCalls = 0;
export function patchBatch(mode: string): void {
  if (mode === 'none' || mode === '') return;
  const proto = ClassicLevel.prototype as any;
  const orig = proto.batch;
  const prefixes = new WeakMap<object, Buffer>();
  const SYNC = { sync: true };
  proto.batch = function (ops?: any[], options?: { sync?: boolean }) {
    if (arguments.length === 0 || ops === undefined || ops.length === 0 || ops[0].sublevel == null) return orig.apply(this, arguments);
    patchedCalls++;
    if (mode === 'noopts') return options?.sync ? orig.call(this, ops, SYNC) : orig.call(this, ops);
    const batch = orig.call(this);
    for (const op of ops) {
      let prefix = prefixes.get(op.sublevel);
      if (prefix === undefined) prefixes.set(op.sublevel, (prefix = Buffer.from(op.sublevel.prefix, 'utf8')));
      const key = Buffer.concat([prefix, op.key]);
      if (op.type === 'put') batch.put(key, op.value);
      else batch.del(key);
    }
    return batch.write(options?.sync ? SYNC : undefined);
  };
}
