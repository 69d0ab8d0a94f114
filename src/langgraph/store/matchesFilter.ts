import { isDeepStrictEqual } from 'node:util';

const OPERATORS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin']);

/**
 * Whether an item's value passes a search filter, as LangGraph's `InMemoryStore` decides it: each filter
 * field names a top-level field of the value, and holds either the value it must equal or an object of
 * operators (`$eq`, `$ne`, `$gt`, `$gte`, `$lt`, `$lte`, `$in`, `$nin`) that must all hold. `$gt` and the
 * other orderings compare as numbers. One difference: a plain object or array compares by content, as
 * in the SQL stores, where `InMemoryStore` compares it by identity and so never matches it.
 */
export function matchesFilter(value: Readonly<Record<string, unknown>>, filter: Readonly<Record<string, unknown>>): boolean {
  return Object.entries(filter).every(([field, wanted]) => matchesField(Object.hasOwn(value, field) ? value[field] : undefined, wanted));
}

function matchesField(actual: unknown, wanted: unknown): boolean {
  if (!isOperators(wanted)) return isDeepStrictEqual(actual, wanted);
  return Object.entries(wanted).every(([operator, operand]) => {
    switch (operator) {
      case '$eq':
        return actual === operand;
      case '$ne':
        return actual !== operand;
      case '$gt':
        return Number(actual) > Number(operand);
      case '$gte':
        return Number(actual) >= Number(operand);
      case '$lt':
        return Number(actual) < Number(operand);
      case '$lte':
        return Number(actual) <= Number(operand);
      case '$in':
        return Array.isArray(operand) && operand.includes(actual);
      default:
        return Array.isArray(operand) ? !operand.includes(actual) : true;
    }
  });
}

/** An object whose keys are all operators; an empty object counts, and then matches anything, as in LangGraph. */
function isOperators(wanted: unknown): wanted is Record<string, unknown> {
  return typeof wanted === 'object' && wanted !== null && Object.keys(wanted).every((key) => OPERATORS.has(key));
}
