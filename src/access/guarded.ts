import type { Gate } from './Gate.js';

/** The names of the methods of `T` (its getters and fields excluded). */
export type MethodName<T> = { [K in keyof T]-?: T[K] extends (...args: never[]) => unknown ? K : never }[keyof T];

/**
 * How each method of `T` is checked: a function of the gate, the real object and the call's arguments
 * that returns what the method returns. Typed over every method, so that a method added to a namespace
 * does not compile until someone decides who may call it.
 */
export type Rules<T> = {
  [K in MethodName<T>]: T[K] extends (...args: infer A) => infer R ? (gate: Gate, target: T, ...args: A) => R : never;
};

/**
 * A view of `target` whose methods go through `rules`. It shares `target`'s prototype, so `instanceof`
 * works, but not `target` itself, which it does not reveal: its plain fields are copied, its getters
 * re-pointed at `target` (they read its private fields), and a method reached any other way finds no
 * private fields on the view and throws.
 */
export function guarded<T extends object>(target: T, rules: Rules<T>, gate: Gate): T {
  const view = Object.create(Object.getPrototypeOf(target) as object) as T;
  for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(target))) {
    if ('value' in descriptor && typeof descriptor.value !== 'function') Object.defineProperty(view, name, { value: descriptor.value, enumerable: descriptor.enumerable });
  }
  for (const [name, rule] of Object.entries(rules) as [string, (gate: Gate, target: T, ...args: unknown[]) => unknown][]) {
    Object.defineProperty(view, name, { value: (...args: unknown[]) => rule(gate, target, ...args) });
  }
  for (let proto = Object.getPrototypeOf(target) as object | null; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(proto))) {
      if (descriptor.get !== undefined && !Object.prototype.hasOwnProperty.call(view, name)) {
        Object.defineProperty(view, name, { get: () => (target as Record<string, unknown>)[name] });
      }
    }
  }
  return view;
}
