import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * The JSON Schema the store keeps for a zod schema: its input form, since a stored record is what the
 * schema parses. Transforms and refinements have no JSON Schema form; they become `{}` rather than fail.
 */
export function storedJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

/** A stable hash of a JSON Schema: SHA-256 of its JSON with object keys sorted, in hex. */
export function schemaHash(jsonSchema: unknown): string {
  return createHash('sha256').update(canonicalJson(jsonSchema)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
