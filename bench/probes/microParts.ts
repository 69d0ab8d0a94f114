/** Probe: synchronous cost of the pieces of the set path, 1e6 calls each. */
import { Scope } from '../../src/index.js';
import { serializeValue } from '../../src/state/values.js';
import { normalizeKey } from '../../src/state/keyRules.js';
import { encodeStateKey } from '../../src/state/keyCodec.js';
import { encodeRecord } from '../../src/storage/recordEnvelope.js';
import { causalJson, encodeCommitRecord, encodeSeqKey, stateEventJson, eventId } from '../../src/events/eventLog.js';
import { correlationForWrite } from '../../src/events/correlation.js';
import { createActor } from 'xstate';
import { scopeLifecycle } from '../../actors/scopeLifecycle.js';
import { crc32 } from 'node:zlib';
import { sampleValue } from '../harness.js';

const N = 1_000_000;
const scope = Scope.agent('a1');
const value = sampleValue(1);
const json = JSON.stringify(value);
const actor = createActor(scopeLifecycle).start(); actor.send({ type: 'LOADED' });
let sink: unknown;
const buf = Buffer.alloc(120, 1);
const cases: [string, () => unknown][] = [
  ['serializeValue', () => serializeValue(value, 1 << 20)],
  ['JSON.stringify only', () => JSON.stringify(value)],
  ['normalizeKey', () => normalizeKey('topic')],
  ['correlationForWrite', () => correlationForWrite(undefined)],
  ['actor.getSnapshot().value', () => actor.getSnapshot().value],
  ['Date.now', () => Date.now()],
  ['scope.toString', () => scope.toString()],
  ['JSON.stringify(scope.toString())', () => JSON.stringify(scope.toString())],
  ['encodeStateKey', () => encodeStateKey(scope, 'topic')],
  ['encodeRecord (incl crc32)', () => encodeRecord({ seq: 5, timestamp: 1700000000000 }, json)],
  ['crc32 of 120 B', () => crc32(buf)],
  ['stateEventJson', () => stateEventJson('state.set', '"agent:a1"', 'topic', causalJson(eventId(5, 0)), json)],
  ['encodeSeqKey', () => encodeSeqKey(5)],
  ['encodeCommitRecord', () => encodeCommitRecord(5, 1700000000000, ['{"kind":"state.set","scope":"agent:a1","correlationId":"5.0","key":"topic","value":' + json + '}'])],
  ['new Promise + spread', () => new Promise((resolve, reject) => { sink = { ...{ type: 'set', key: 'k', json, context: undefined }, resolve, reject }; })],
  ['process.nextTick (queue only)', () => process.nextTick(() => {})],
];
for (let rep = 0; rep < 2; rep++) {
  for (const [name, fn] of cases) {
    for (let i = 0; i < 100000; i++) sink = fn();
    const t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) sink = fn();
    const ns = Number(process.hrtime.bigint() - t) / N;
    if (rep === 1) console.log(name.padEnd(36), ns.toFixed(0).padStart(6), 'ns');
    await new Promise((r) => setImmediate(r));
  }
}
