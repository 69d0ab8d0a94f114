import type { Scope } from '../index.js';
import type { RecordCursor } from './RecordCursor.js';
import type { CheckpointRecord } from './saverRecords.js';

const READ_TOGETHER = 32;

interface Head {
  readonly cursor: RecordCursor;
  readonly record: CheckpointRecord;
}

/**
 * The records of every cursor merged newest first (by checkpoint id, which is a uuid6 and sorts by time).
 * Each cursor is read only as far as the merge has come, so a caller that stops after ten records has
 * read about ten records and the head of each cursor.
 */
export async function* newestFirst(cursors: readonly RecordCursor[]): AsyncGenerator<{ scope: Scope; record: CheckpointRecord }> {
  const heap: Head[] = [];
  // A few threads at a time: each read wakes a thread's actor.
  for (let start = 0; start < cursors.length; start += READ_TOGETHER) {
    const some = cursors.slice(start, start + READ_TOGETHER);
    const heads = await Promise.all(some.map((cursor) => cursor.head()));
    heads.forEach((record, i) => {
      if (record !== undefined) push(heap, { cursor: some[i]!, record });
    });
  }
  while (heap.length > 0) {
    const { cursor, record } = pop(heap);
    yield { scope: cursor.scope, record };
    cursor.advance();
    const next = await cursor.head();
    if (next !== undefined) push(heap, { cursor, record: next });
  }
}

// A binary max-heap by checkpoint id: a merge of many threads takes O(log n) per record.

function newer(a: Head, b: Head): boolean {
  return a.record.id > b.record.id;
}

function push(heap: Head[], head: Head): void {
  heap.push(head);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!newer(heap[i]!, heap[parent]!)) break;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

function pop(heap: Head[]): Head {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length > 0) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let largest = i;
      if (left < heap.length && newer(heap[left]!, heap[largest]!)) largest = left;
      if (right < heap.length && newer(heap[right]!, heap[largest]!)) largest = right;
      if (largest === i) break;
      [heap[i], heap[largest]] = [heap[largest]!, heap[i]!];
      i = largest;
    }
  }
  return top;
}
