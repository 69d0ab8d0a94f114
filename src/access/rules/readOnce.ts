import { Scope } from '../../state/Scope.js';

/**
 * A caller's options object (or filter) copied with one read of each of its fields, so that a rule
 * that checks a field and then hands the object on hands on what it checked: read twice, a getter
 * could answer the check with the principal's own id and the call with another's. Anything but an
 * object (an array, a Scope) is returned as it is, for the call to refuse or take.
 */
export function readOnce<T>(options: T): T {
  if (typeof options !== 'object' || options === null || Array.isArray(options) || Scope.isScope(options)) return options;
  return { ...options };
}
