import assert from 'node:assert/strict';
import { newCorrelationId } from '../../src/events/correlation.js';

describe('newCorrelationId', () => {
  it('makes 21 letters and digits, so an id never reads as a CLI option', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const id = newCorrelationId();
      assert.match(id, /^[0-9A-Za-z]{21}$/);
      ids.add(id);
    }
    assert.equal(ids.size, 20_000);
  });
});
