/**
 * Probe: the cost of object spreads on the write path, on this node/V8. Two patterns are slow on Node 20
 * (V8 11.3): a property after a spread (`{ ...p, x }`, ScopeActor.#send), and spreading an object into a
 * non-empty spread (`{ ...options, ...op }`, abstract-level's array batch when an options object is given).
 */
const json = '{"role":"assistant","n":1}';
const resolve = () => {};
const reject = () => {};
const op = { type: 'put', sublevel: {}, key: Buffer.alloc(16), value: Buffer.alloc(100) };
let sink: unknown;
const cases: [string, () => unknown][] = [
  ['literal with all six fields', () => ({ type: 'set', key: 'k', json, context: undefined, resolve, reject })],
  ['{ ...partial, resolve, reject }', () => { const partial = { type: 'set', key: 'k', json, context: undefined }; return { ...partial, resolve, reject }; }],
  ['partial.resolve = …; partial.reject = …', () => { const partial: Record<string, unknown> = { type: 'set', key: 'k', json, context: undefined }; partial.resolve = resolve; partial.reject = reject; return partial; }],
  ['{ ...{}, ...op } (no batch options)', () => ({ ...{}, ...op })],
  ['{ ...{ sync: false }, ...op }', () => ({ ...{ sync: false }, ...op })],
];
for (let round = 0; round < 2; round++) {
  for (const [name, fn] of cases) {
    for (let i = 0; i < 200_000; i++) sink = fn();
    const start = process.hrtime.bigint();
    for (let i = 0; i < 2_000_000; i++) sink = fn();
    const ns = Number(process.hrtime.bigint() - start) / 2_000_000;
    if (round === 1) console.log(`${name.padEnd(44)} ${ns.toFixed(0).padStart(6)} ns`);
  }
}
void sink;
console.log(`node ${process.version}, V8 ${process.versions.v8}`);
