/**
 * Counts this process's changes to the grants and quarantines, from the moment each one starts (before it
 * commits) until it is settled, so that a refresh from the store can tell whether one ran while it read:
 * the store may not hold such a change yet, and applying the read would undo it in memory.
 */
export class ChangesInFlight {
  #running = 0;
  #started = 0;
  #settled: (() => void)[] = [];

  /** Marks a change as under way; call the returned function once it is settled, whatever its outcome. */
  begin(): () => void {
    this.#running++;
    this.#started++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.#running === 0) for (const wake of this.#settled.splice(0)) wake();
    };
  }

  /** How many changes have started so far: equal before and after a read when none ran during it. */
  get started(): number {
    return this.#started;
  }

  get running(): boolean {
    return this.#running > 0;
  }

  /** Resolves once no change is under way. */
  async idle(): Promise<void> {
    while (this.#running > 0) await new Promise<void>((wake) => this.#settled.push(wake));
  }
}
