/**
 * The grants and quarantines this process is changing, each from the moment its change starts (before it
 * commits) until it is settled, so that a refresh from the store can leave alone what one of them touched
 * while it read: the store may not hold that change yet, and applying the read would undo it in memory.
 * Only those keys are left alone, so a process that changes its grants all the time still takes in the
 * others' changes.
 */
export class ChangesInFlight {
  readonly #running = new Map<string, number>();
  /** The keys changes began on since the read under way started; refreshes read one at a time. */
  #touched: Set<string> | undefined;

  /** Marks a change of `keys` as under way; call the returned function once it is settled, whatever its outcome. */
  begin(keys: readonly string[]): () => void {
    for (const key of keys) {
      this.#running.set(key, (this.#running.get(key) ?? 0) + 1);
      this.#touched?.add(key);
    }
    let settled = false;
    return () => {
      if (settled) return;
      settled = true;
      for (const key of keys) {
        const left = this.#running.get(key)! - 1;
        if (left === 0) this.#running.delete(key);
        else this.#running.set(key, left);
      }
    };
  }

  /**
   * Runs `read`, then `apply` with what it found and a test of each key: true when no change of this
   * process ran on it at any time since the read began, so that what was read of it may be applied.
   */
  async read<T>(read: () => Promise<T>, apply: (found: T, untouched: (key: string) => boolean) => void): Promise<void> {
    const runningAtStart = new Set(this.#running.keys());
    const touched = new Set<string>();
    this.#touched = touched;
    try {
      const found = await read();
      apply(found, (key) => !runningAtStart.has(key) && !touched.has(key) && !this.#running.has(key));
    } finally {
      this.#touched = undefined;
    }
  }
}

/** The key by which a change of grant `id` is known. */
export function grantChange(id: string): string {
  return `grant ${id}`;
}

/** The key by which a change of the quarantine of agent `agentId` is known. */
export function quarantineChange(agentId: string): string {
  return `quarantine ${agentId}`;
}
