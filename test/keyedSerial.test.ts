import assert from 'node:assert/strict';
import { KeyedSerial } from '../src/KeyedSerial.js';

/** A promise and the functions that settle it. */
function deferred<T = void>(): { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('KeyedSerial', () => {
  it('runs the operations on one key one at a time, in call order, whatever each one’s outcome', async () => {
    const serial = new KeyedSerial<string>();
    const log: string[] = [];
    const first = deferred();
    const a = serial.run('k', async () => {
      log.push('a start');
      await first.promise;
      log.push('a end');
      throw new Error('a failed');
    });
    const b = serial.run('k', async () => {
      log.push('b');
      return 'b';
    });
    await turn();
    assert.deepEqual(log, ['a start']);
    first.resolve();
    await assert.rejects(a, /a failed/);
    assert.equal(await b, 'b');
    assert.deepEqual(log, ['a start', 'a end', 'b']);
  });

  it('runs operations on different keys side by side', async () => {
    const serial = new KeyedSerial<string>();
    const held = deferred();
    const log: string[] = [];
    const a = serial.run('a', async () => {
      await held.promise;
      log.push('a');
    });
    const b = serial.run('b', async () => {
      log.push('b');
    });
    await b;
    assert.deepEqual(log, ['b']);
    held.resolve();
    await a;
    assert.deepEqual(log, ['b', 'a']);
  });

  it('an operation that throws synchronously rejects its own promise, and the next one still runs', async () => {
    const serial = new KeyedSerial<string>();
    const a = serial.run('k', () => {
      throw new Error('sync');
    });
    const b = serial.run('k', async () => 'b');
    await assert.rejects(a, /sync/);
    assert.equal(await b, 'b');
  });

  it('forgets a key once its queue empties, so the map does not grow with the keys ever used', async () => {
    const serial = new KeyedSerial<number>();
    const held = deferred();
    const all = [];
    for (let key = 0; key < 1000; key++) all.push(serial.run(key, () => (key === 7 ? held.promise : Promise.resolve())));
    all.push(serial.run(7, async () => {}));
    await Promise.all(all.filter((_, index) => index !== 7 && index !== 1000));
    await turn();
    assert.equal(serial.size, 1, 'only key 7 still has work');
    held.resolve();
    await Promise.all(all);
    await serial.idle();
    assert.equal(serial.size, 0);
  });

  it('idle() waits for the work queued on every key', async () => {
    const serial = new KeyedSerial<string>();
    const held = deferred();
    let done = false;
    void serial.run('a', () => held.promise);
    void serial.run('a', async () => {
      done = true;
    });
    const idle = serial.idle();
    await turn();
    assert.equal(done, false);
    held.resolve();
    await idle;
    assert.equal(done, true);
    assert.equal(serial.size, 0);
  });
});
