import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { watchResources } from './resourceWatch.js';

// The in-process command-line tests rely on this to stand for a child process's exit.
describe('watchResources', () => {
  it('settles once a timer the work started has run', async () => {
    let ran = false;
    const result = await watchResources(async () => {
      setTimeout(() => (ran = true), 30);
      return 'done';
    });
    assert.equal(result, 'done');
    assert.ok(ran, 'the timer ran before it settled');
  });

  it('does not settle while an interval the work started runs, and settles once it is cleared', async () => {
    let interval: NodeJS.Timeout | undefined;
    let settled = false;
    const watching = watchResources(async () => {
      interval = setInterval(() => {}, 1);
    }).then(() => (settled = true));
    for (let i = 0; i < 50; i++) await turn();
    assert.equal(settled, false, 'settled while the interval ran');
    clearInterval(interval);
    await watching;
    assert.ok(settled);
  });

  it('does not wait for what would not keep a process alive (an unref’d timer), nor for timers started outside', async () => {
    const outside = setInterval(() => {}, 1);
    try {
      let timer: NodeJS.Timeout | undefined;
      await watchResources(async () => {
        timer = setTimeout(() => {}, 60_000).unref();
      });
      clearTimeout(timer);
    } finally {
      clearInterval(outside);
    }
  });

  it('rejects as the work does', async () => {
    await assert.rejects(
      watchResources(async () => {
        throw new Error('refused');
      }),
      /refused/,
    );
  });
});
