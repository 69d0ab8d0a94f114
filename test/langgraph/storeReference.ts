import { InMemoryStore, type Operation } from '@langchain/langgraph-checkpoint';
import { compareNamespaces } from '../../src/langgraph/store/readItems.js';

type Entry = { key: string };
type Data = Map<string, Map<string, Entry>>;

/**
 * LangGraph's `InMemoryStore`, as the reference a differential test compares LlmStateStore with. After
 * each batch its maps are put in LlmStateStore's order (namespace, then key) and emptied namespaces are
 * dropped, so that its own search and listNamespaces code pages and lists in that order. The documented
 * differences this absorbs: InMemoryStore returns items in insertion order; it lists a namespace whose
 * items were all deleted (or that only saw a delete); and the items a batch's gets return are the stored
 * objects, which the same batch's puts then change.
 */
export class ReferenceStore {
  readonly inner = new InMemoryStore();

  async batch(operations: Operation[]): Promise<unknown[]> {
    // InMemoryStore hands out its stored items, which the batch's own puts then change: read first, copy.
    const isPut = (operation: Operation) => 'value' in operation;
    try {
      const reads = structuredClone(await this.inner.batch(operations.filter((operation) => !isPut(operation)))) as unknown[];
      await this.inner.batch(operations.filter(isPut));
      return operations.map((operation) => (isPut(operation) ? null : reads.shift()));
    } finally {
      this.#reorder();
    }
  }

  #reorder(): void {
    const data = (this.inner as unknown as { data: Data }).data;
    const namespaces = [...data.entries()]
      .filter(([, items]) => items.size > 0)
      .sort(([a], [b]) => compareNamespaces(a.split(':'), b.split(':')));
    data.clear();
    for (const [namespace, items] of namespaces) {
      data.set(namespace, new Map([...items.entries()].sort(([a], [b]) => a.localeCompare(b) || (a < b ? -1 : a > b ? 1 : 0))));
    }
  }
}

/** A batch's results with the parts that must differ left out: item timestamps (checked elsewhere). */
export function comparable(results: unknown[]): unknown[] {
  return results.map((result) => {
    if (Array.isArray(result)) return result.map((entry) => (Array.isArray(entry) ? [...entry] : withoutTimes(entry)));
    return result === null || result === undefined ? null : withoutTimes(result);
  });
}

function withoutTimes(item: unknown): unknown {
  const { createdAt, updatedAt, ...rest } = item as { createdAt: unknown; updatedAt: unknown };
  if (!(createdAt instanceof Date) || !(updatedAt instanceof Date)) throw new Error(`An item without Date timestamps: ${JSON.stringify(item)}`);
  return JSON.parse(JSON.stringify({ ...rest, value: (rest as { value: unknown }).value, namespace: [...(rest as { namespace: string[] }).namespace] }));
}
