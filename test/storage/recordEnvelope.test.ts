import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { LlmStateError } from '../../src/errors.js';
import { decodeCommitRecord, encodeCommitRecord } from '../../src/events/eventLog.js';
import { decodeRecord, encodeRecord, RECORD_FORMAT, type RecordMeta } from '../../src/storage/recordEnvelope.js';
import { thrownLlmStateError } from '../state/rejects.js';

const SECRET = 'payload-marker-7f3a';
const PAYLOAD = JSON.stringify({ note: SECRET, text: 'héllo \u{1F600}', n: [1, 2, 3] });
const MAX_48_BIT = 2 ** 48 - 1;

const SAMPLES: { label: string; meta: RecordMeta; payload: string }[] = [
  { label: 'without a schema', meta: { seq: 42, timestamp: 1_700_000_000_000 }, payload: PAYLOAD },
  { label: 'with a schema', meta: { seq: 7, timestamp: 1_700_000_000_123, schema: 'Topic@3' }, payload: PAYLOAD },
  { label: 'with a unicode schema name', meta: { seq: 1, timestamp: 0, schema: 'Thème@12' }, payload: PAYLOAD },
  { label: 'with an empty payload', meta: { seq: 1, timestamp: 1 }, payload: '' },
];

/** Asserts decoding fails with DATA_CORRUPT and that nothing of the payload leaks through the error. */
function assertCorrupt(record: Buffer, label: string): LlmStateError {
  const err = thrownLlmStateError(() => decodeRecord(record), 'DATA_CORRUPT');
  assert.ok(!err.message.includes(SECRET), `${label}: the message leaks the payload`);
  assert.ok(!JSON.stringify(err.details).includes(SECRET), `${label}: the details leak the payload`);
  return err;
}

/** Recomputes the checksum of an edited record, as a buggy writer or a tamperer would. */
function withValidChecksum(record: Buffer): Buffer {
  const copy = Buffer.from(record);
  copy.writeUInt32BE(crc32(copy.subarray(5)), 1);
  return copy;
}

describe('record envelope', () => {
  for (const { label, meta, payload } of SAMPLES) {
    it(`round trips seq, timestamp, schema and payload ${label}`, () => {
      const decoded = decodeRecord(encodeRecord(meta, payload));
      assert.equal(decoded.seq, meta.seq);
      assert.equal(decoded.timestamp, meta.timestamp);
      assert.equal(decoded.schema, meta.schema);
      assert.equal('schema' in decoded, meta.schema !== undefined);
      assert.equal(decoded.payload.toString('utf8'), payload);
    });
  }

  it('round trips the largest 48-bit sequence and timestamp', () => {
    const decoded = decodeRecord(encodeRecord({ seq: MAX_48_BIT, timestamp: MAX_48_BIT }, '1'));
    assert.equal(decoded.seq, MAX_48_BIT);
    assert.equal(decoded.timestamp, MAX_48_BIT);
  });

  it('starts with the format version', () => {
    assert.equal(encodeRecord({ seq: 1, timestamp: 1 }, '{}')[0], RECORD_FORMAT);
  });

  for (const { label, meta, payload } of SAMPLES) {
    it(`flipping any single byte of a record ${label} raises DATA_CORRUPT`, () => {
      const record = encodeRecord(meta, payload);
      for (let position = 0; position < record.length; position++) {
        for (const mask of [0x01, 0x80, 0xff]) {
          const damaged = Buffer.from(record);
          damaged[position] ^= mask;
          assertCorrupt(damaged, `byte ${position} ^ 0x${mask.toString(16)}`);
        }
      }
    });
  }

  it('a record with another format version is DATA_CORRUPT, even with a matching checksum', () => {
    const record = encodeRecord({ seq: 1, timestamp: 1 }, PAYLOAD);
    for (const format of [0, 2, 255]) {
      const other = Buffer.from(record);
      other[0] = format;
      const err = assertCorrupt(other, `format ${format}`);
      assert.match(err.message, /format/);
    }
  });

  for (const { label, meta, payload } of SAMPLES) {
    it(`truncating a record ${label} at any length raises DATA_CORRUPT`, () => {
      const record = encodeRecord(meta, payload);
      for (let length = 0; length < record.length; length++) {
        assertCorrupt(record.subarray(0, length), `truncated to ${length}`);
      }
    });
  }

  it('a record with bytes appended raises DATA_CORRUPT', () => {
    const record = encodeRecord({ seq: 1, timestamp: 1 }, PAYLOAD);
    assertCorrupt(Buffer.concat([record, Buffer.from('x')]), 'appended');
  });

  it('a checksummed record whose schema length runs past its end raises DATA_CORRUPT', () => {
    // The flag says a schema reference follows, but the bytes after the header are the payload.
    for (const payload of ['', 'x', '{}', PAYLOAD]) {
      const record = encodeRecord({ seq: 1, timestamp: 1 }, payload);
      record[5] = 1;
      assertCorrupt(withValidChecksum(record), `schema flag over payload ${JSON.stringify(payload)}`);
    }
  });

  it('the error names where the record was read from and why it is corrupt', () => {
    const record = encodeRecord({ seq: 3, timestamp: 3 }, PAYLOAD);
    record[record.length - 1] ^= 1;
    const err = thrownLlmStateError(() => decodeRecord(record, { scope: 'agent:a1', key: 'topic' }), 'DATA_CORRUPT');
    assert.match(err.message, /agent:a1/);
    assert.match(err.message, /topic/);
    assert.match(err.message, /checksum/);
    assert.equal(err.details?.scope, 'agent:a1');
    assert.equal(err.details?.key, 'topic');
    assert.equal(err.details?.bytes, record.length);
  });

  describe('event log commit records', () => {
    it('round trip their events with ids, sequence and time', () => {
      const record = encodeCommitRecord(9, 1234, ['{"kind":"state.set","scope":"agent:a1","key":"k","value":1,"correlationId":"c"}']);
      assert.deepEqual(decodeCommitRecord(record, 9), [
        { id: '9.0', seq: 9, at: 1234, kind: 'state.set', scope: 'agent:a1', key: 'k', value: 1, correlationId: 'c' },
      ]);
    });

    it('raise DATA_CORRUPT naming the sequence when damaged', () => {
      const record = encodeCommitRecord(9, 1234, ['{"kind":"scope.clear","scope":"global","count":2,"correlationId":"c"}']);
      record[20] ^= 0x10;
      const err = thrownLlmStateError(() => decodeCommitRecord(record, 9), 'DATA_CORRUPT');
      assert.match(err.message, /event log sequence 9/);
    });
  });
});
