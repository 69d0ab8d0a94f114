/** Probe for `node --cpu-prof`: one workload in a loop. Usage: profileLoop.ts set|get|p2 [count] */
import { Scope, withRuntime } from '../common.js';
import { inFlight, rng, sampleValue, withTempDir } from '../harness.js';

const mode = process.argv[2] ?? 'set';
const count = Number(process.argv[3] ?? 200_000);
const value = sampleValue(1);
await withTempDir('prof', (dir) => withRuntime(dir, async (rt) => {
  if (mode === 'set') {
    const scope = Scope.agent('a1');
    for (let i = 0; i < count; i++) await rt.state.set(scope, 'topic', value);
  } else if (mode === 'get') {
    const scope = Scope.agent('a1');
    await rt.state.set(scope, 'topic', value);
    for (let i = 0; i < count; i++) await rt.state.get(scope, 'topic');
  } else if (mode === 'p2') {
    const scopes = Array.from({ length: 1000 }, (_, i) => Scope.agent(`agent-${i}`));
    const random = rng(1);
    await inFlight(64, count, (i) => rt.state.set(scopes[(random() * 1000) | 0], `k${(random() * 10) | 0}`, value));
  }
}));
