/**
 * One {@link Serial} queue per key: operations on one key run one at a time, in call order, whatever
 * each one's outcome, while operations on different keys run side by side. A key's queue is forgotten
 * the moment it empties, so the map holds only the keys with work queued or running.
 */
export class KeyedSerial<K> {
  readonly #tails = new Map<K, Promise<void>>();

  run<T>(key: K, operation: () => Promise<T>): Promise<T> {
    const result = (this.#tails.get(key) ?? Promise.resolve()).then(operation);
    const tail = result.then(forget, forget).then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    this.#tails.set(key, tail);
    return result;
  }

  /** How many keys have work queued or running. */
  get size(): number {
    return this.#tails.size;
  }

  /** Resolves once no key has work queued or running. */
  async idle(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all(this.#tails.values());
  }
}

function forget(): void {}
