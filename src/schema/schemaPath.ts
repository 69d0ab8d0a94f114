/**
 * Paths of fields in a schema, as a change reports them: `''` for the root, `address.city`,
 * `tags[]` for any item of an array, `pair[0]` for one of a tuple, `meta.*` for the values of a
 * record, `meta.<key>` for its keys. A name that is not an identifier is quoted: `labels["a.b"]`.
 */
export function fieldPath(parent: string, name: string): string {
  if (!/^[A-Za-z_$][\w$]*$/.test(name) && name !== '*' && name !== '<key>') return `${parent}[${JSON.stringify(name)}]`;
  return parent === '' ? name : `${parent}.${name}`;
}

export function elementPath(parent: string): string {
  return `${parent}[]`;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** A zod issue's path (`['tags', 0, 'name']`) written the same way (`tags[0].name`). */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((parent, segment) => (typeof segment === 'number' ? indexPath(parent, segment) : fieldPath(parent, String(segment))), '');
}
