import fc from 'fast-check';
import { Scope } from '../src/index.js';

/** A small pool of scopes and keys, so that generated operations collide often. */
export const SCOPES = [
  Scope.global(),
  Scope.agent('a1'),
  Scope.agent('a2'),
  Scope.workflow('w1'),
  Scope.step('w1', 's1'),
  Scope.session('s1'),
  Scope.custom('team'),
];
export const KEYS = ['a', 'b', 'a/b', 'é', 'k.1', '中'];

export const scopeIndex = fc.integer({ min: 0, max: SCOPES.length - 1 });
export const key = fc.constantFrom(...KEYS);
/** JSON values; what comes back is the JSON round trip of what went in. */
export const value = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);

/** The expected contents of a store: scope → key → value. */
export class StoreModel {
  readonly #scopes = new Map<string, Map<string, unknown>>();

  #of(scopeIndex: number): Map<string, unknown> {
    const name = SCOPES[scopeIndex].toString();
    let scope = this.#scopes.get(name);
    if (scope === undefined) this.#scopes.set(name, (scope = new Map()));
    return scope;
  }

  get(scopeIndex: number, key: string): unknown {
    return this.#of(scopeIndex).get(key);
  }

  set(scopeIndex: number, key: string, value: unknown): void {
    this.#of(scopeIndex).set(key, value);
  }

  delete(scopeIndex: number, key: string): boolean {
    return this.#of(scopeIndex).delete(key);
  }

  clear(scopeIndex: number): number {
    const scope = this.#of(scopeIndex);
    const count = scope.size;
    scope.clear();
    return count;
  }

  /** Keys in the store's order: UTF-8 bytes, which is code point order. */
  keys(scopeIndex: number, prefix = ''): string[] {
    return [...this.#of(scopeIndex).keys()]
      .filter((k) => k.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }
}
