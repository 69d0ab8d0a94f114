import { describeOption } from '../checkOptions.js';

/** What a scope operation needs. */
export const OPERATIONS = ['read', 'write', 'delete', 'list'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** What a grant can carry: the operations, and `grant`, the right to pass them on. */
export const PERMISSIONS = [...OPERATIONS, 'grant'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** One bit per permission, so that a grant's set is tested with one `&`. */
export const PERMISSION_BIT: Readonly<Record<Permission, number>> = { read: 1, write: 2, delete: 4, list: 8, grant: 16 };

export const ALL_PERMISSIONS = 31;

/** @throws {TypeError} unless `permissions` is a non-empty list of known permissions. */
export function permissionBits(permissions: unknown): number {
  if (!Array.isArray(permissions) || permissions.length === 0) {
    throw new TypeError(`Expected \`permissions\` to be a non-empty array of ${PERMISSIONS.join(', ')}, got ${describeOption(permissions)}`);
  }
  let bits = 0;
  for (const permission of permissions) {
    if (!(PERMISSIONS as readonly unknown[]).includes(permission)) {
      throw new TypeError(`Unknown permission ${describeOption(permission)}; expected one of ${PERMISSIONS.join(', ')}`);
    }
    bits |= PERMISSION_BIT[permission as Permission];
  }
  return bits;
}

/** The permissions of a bit set, in the canonical order. */
export function permissionsOf(bits: number): Permission[] {
  return PERMISSIONS.filter((permission) => (bits & PERMISSION_BIT[permission]) !== 0);
}
