/**
 * Runs the operations given to it one at a time, in call order, whatever each one's outcome: for work
 * that reads and then writes across awaits, and must not interleave with another such piece.
 */
export class Serial {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(operation, operation);
    this.#tail = result.catch(() => {});
    return result;
  }
}
