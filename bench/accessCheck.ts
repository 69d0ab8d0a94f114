/**
 * ACCESS: what access control costs. `rt.access.check` with 1,000 grants in force (an exact grant, a
 * pattern grant, a miss), against `Map.get` as the floor; and a cached `get` through `rt.as(p)`: as
 * system, as an agent on its own scope, and as an agent through a grant (audited), against the same
 * `get` on `rt`. Goal (issue 15): a check with 1,000 grants ≤ 1 µs.
 */
import { Scope, withRuntime, type Runtime } from './common.js';
import { elapsedNs, fmtNs, fmtRatio, median, now, sampleValue, withTempDir, type BenchContext, type BenchResult } from './harness.js';

const GRANTS = 1000;
const GOAL_NS = 1000;

let sink: unknown;

/** 1,000 grants: 600 exact to ada, 300 patterns to ada, 100 to other principals. */
async function grantThousand(rt: Runtime): Promise<void> {
  for (let i = 0; i < 600; i++) await rt.access.grant({ principal: 'agent:ada', scope: Scope.workflow(`w${i}`), permissions: ['read'] });
  for (let i = 0; i < 300; i++) await rt.access.grant({ principal: 'agent:ada', scopePattern: `custom:team-${i}-*`, permissions: ['read', 'list'] });
  for (let i = 0; i < 100; i++) await rt.access.grant({ principal: `agent:other-${i}`, scope: Scope.agent('ada'), permissions: ['read'] });
}

function perOp(count: number, fn: (i: number) => unknown): number {
  const start = now();
  for (let i = 0; i < count; i++) sink = fn(i);
  return elapsedNs(start) / count;
}

async function perOpAsync(count: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const start = now();
  for (let i = 0; i < count; i++) sink = await fn(i);
  return elapsedNs(start) / count;
}

export async function accessCheck(ctx: BenchContext): Promise<BenchResult> {
  const count = ctx.quick ? 200_000 : 1_000_000;
  const getCount = ctx.quick ? 100_000 : 300_000;
  const exact = Scope.workflow('w599');
  const pattern = Scope.custom('team-299-notes');
  const miss = Scope.workflow('nope');
  const own = Scope.agent('ada');
  const figures: Record<string, number[]> = { map: [], exact: [], pattern: [], miss: [], system: [], getSystem: [], getOwn: [], getGranted: [], getAsSystem: [] };

  await withTempDir('access', (dir) =>
    withRuntime(dir, async (rt) => {
      await grantThousand(rt);
      const map = new Map<string, number>(Array.from({ length: GRANTS }, (_, i) => [`workflow:w${i}`, i]));
      await rt.state.set(own, 'k', sampleValue(1));
      await rt.state.set(exact, 'k', sampleValue(2));
      const ada = rt.as('agent:ada');
      const asSystem = rt.as('system');
      // Warm every path before timing.
      for (let i = 0; i < 50_000; i++) {
        rt.access.check('agent:ada', exact, 'read');
        rt.access.check('agent:ada', pattern, 'read');
        rt.access.check('agent:ada', miss, 'read');
      }
      for (let i = 0; i < 20_000; i++) await ada.state.get(exact, 'k');
      await rt.access.audit({ limit: 1 });
      for (let rep = 0; rep < ctx.reps; rep++) {
        figures.map.push(perOp(count, (i) => map.get(`workflow:w${i % GRANTS}`)));
        figures.exact.push(perOp(count, () => rt.access.check('agent:ada', exact, 'read')));
        figures.pattern.push(perOp(count, () => rt.access.check('agent:ada', pattern, 'read')));
        figures.miss.push(perOp(count, () => rt.access.check('agent:ada', miss, 'read')));
        figures.system.push(perOp(count, () => rt.access.check('system', exact, 'read')));
        figures.getSystem.push(await perOpAsync(getCount, () => rt.state.get(own, 'k')));
        figures.getAsSystem.push(await perOpAsync(getCount, () => asSystem.state.get(own, 'k')));
        figures.getOwn.push(await perOpAsync(getCount, () => ada.state.get(own, 'k')));
        figures.getGranted.push(await perOpAsync(getCount, () => ada.state.get(exact, 'k')));
        // The audit log catches up between repetitions, as it would between bursts.
        await rt.access.audit({ limit: 1 });
        ctx.log(`ACCESS rep ${rep + 1}/${ctx.reps}: check exact ${fmtNs(figures.exact.at(-1)!)}, pattern ${fmtNs(figures.pattern.at(-1)!)}, miss ${fmtNs(figures.miss.at(-1)!)}; get own ${fmtNs(figures.getOwn.at(-1)!)}, granted ${fmtNs(figures.getGranted.at(-1)!)}, system ${fmtNs(figures.getSystem.at(-1)!)}`);
      }
    }),
  );
  const m = Object.fromEntries(Object.entries(figures).map(([name, values]) => [name, median(values)])) as Record<keyof typeof figures, number>;
  const check = (metric: string, ns: number) => ({ id: 'ACCESS', metric, ours: fmtNs(ns), raw: `${fmtNs(m.map)} Map.get`, ratio: fmtRatio(ns / m.map), goal: `≤ ${fmtNs(GOAL_NS)}`, pass: ns <= GOAL_NS });
  const get = (metric: string, ns: number) => ({ id: 'ACCESS get', metric, ours: fmtNs(ns), raw: `${fmtNs(m.getSystem)} rt.state.get`, ratio: fmtRatio(ns / m.getSystem), goal: '(info)' });
  return {
    id: 'ACCESS',
    title: `access checks with ${GRANTS} grants in force (${count} checks × ${ctx.reps} reps), and cached gets through rt.as (${getCount} × ${ctx.reps})`,
    rows: [
      check('check: exact grant', m.exact),
      check('check: pattern grant', m.pattern),
      check('check: no grant (denied)', m.miss),
      check('check: system', m.system),
      get('cached get as system (rt.as)', m.getAsSystem),
      get('cached get as agent, own scope', m.getOwn),
      get('cached get as agent, by grant (audited)', m.getGranted),
    ],
    notes: [
      'rt.access.check parses the principal and takes the decision; it records nothing. 600 exact grants and 300 pattern grants to agent:ada, 100 to others.',
      'A get through a grant is a cross-scope decision, so each one also appends an audit record (written in the background, one batch per tick).',
    ],
    data: { figures, median: m },
  };
}
