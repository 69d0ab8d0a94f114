import { escapeForDisplay } from '../displayText.js';
import type { SchemaBinding, StoredSchema } from './registryRecords.js';
import { schemaFields, type SchemaField, type TypePart } from './schemaFields.js';

/** One schema as {@link schemaDocs} documents it. */
export interface DocumentedSchema {
  name: string;
  /** Oldest first, as the registry lists them; the last is the current version. */
  versions: readonly StoredSchema[];
  bindings: readonly SchemaBinding[];
}

/**
 * Markdown documentation of schemas: a title, a contents list, then per schema where it is bound and,
 * newest version first, a table of its fields generated from the JSON Schema. The same registry always
 * gives the same text, so the file can be committed and diffed. Text from the schemas (descriptions,
 * keys, values) is escaped: it can neither break a table nor add markup.
 *
 * @example writeFileSync('docs/state-schemas.md', schemaDocs([{ name: 'profile', versions, bindings }]))
 */
export function schemaDocs(schemas: ReadonlyArray<DocumentedSchema>): string {
  const anchors = new Anchors();
  anchors.add('Schemas');
  const lines = ['# Schemas', ''];
  const documented = schemas.filter((schema) => schema.versions.length > 0);
  if (documented.length === 0) {
    lines.push('No schema is registered.');
    return `${lines.join('\n')}\n`;
  }
  const versionCount = documented.reduce((sum, schema) => sum + schema.versions.length, 0);
  lines.push(`Generated from the JSON Schema that the store keeps for each version: ${plural(documented.length, 'schema')}, ${plural(versionCount, 'version')}.`, '');
  anchors.add('Contents');
  const sections = documented.map((schema) => ({
    schema,
    anchor: anchors.add(schema.name),
    // Newest first.
    versions: [...schema.versions].reverse().map((version) => ({ version, anchor: anchors.add(`${schema.name}@${version.version}`) })),
  }));
  lines.push('## Contents', '');
  for (const { schema, anchor, versions } of sections) {
    const links = versions.map(({ version, anchor: versionAnchor }, index) => `[${text(version.version)}](#${versionAnchor})${index === 0 ? ' (current)' : ''}`);
    lines.push(`- [${text(schema.name)}](#${anchor}): ${links.join(', ')}`);
  }
  for (const { schema, versions } of sections) {
    lines.push('', `## ${text(schema.name)}`, '', ...bindingLines(schema, versions[0].version.version));
    for (const [index, { version }] of versions.entries()) {
      // A code span: GitHub would make `name@1.0.0` a mail link.
      lines.push('', `### ${code(`${schema.name}@${version.version}`)}`, '', ...versionLines(version, index === 0));
    }
  }
  return `${lines.join('\n')}\n`;
}

function bindingLines(schema: DocumentedSchema, current: string): string[] {
  if (schema.bindings.length === 0) return ['Not bound: no write is validated against it.'];
  return [
    `Bound to the keys below: writes there are validated against version ${current}.`,
    '',
    ...schema.bindings.map((binding) => `- ${describeBinding(binding)}`),
  ];
}

/** `agent scopes, keys starting with `profile``. */
function describeBinding(binding: SchemaBinding): string {
  const scopes = binding.scopeKind === undefined ? 'every scope' : `${text(binding.scopeKind)} scopes`;
  const keys = binding.keyPrefix === undefined ? 'every key' : `keys starting with ${code(binding.keyPrefix)}`;
  return `${scopes}, ${keys}`;
}

function versionLines(version: StoredSchema, current: boolean): string[] {
  const registered = Number.isFinite(version.registeredAt) ? ` ${new Date(version.registeredAt).toISOString()}` : '';
  const lines = [`${current ? 'Current version, registered' : 'Registered'}${registered}; hash ${code(version.hash)}.`];
  const own = version.jsonSchema.description;
  for (const description of [version.description, typeof own === 'string' && own !== version.description ? own : undefined]) {
    if (description !== undefined && description.trim() !== '') lines.push('', paragraph(description));
  }
  lines.push('', '| Field | Type | Required | Default | Description |', '| --- | --- | --- | --- | --- |');
  for (const field of schemaFields(version.jsonSchema)) lines.push(fieldRow(field));
  return lines;
}

function fieldRow(field: SchemaField): string {
  const cells = [code(field.path), typeText(field.type), text(field.presence), field.default === undefined ? '' : code(field.default), text(field.description?.trim() ?? '')];
  // Inside a table, GFM splits cells at a bare `|` even in a code span, and reads `\|` as `|` there too.
  return `| ${cells.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`;
}

function typeText(parts: readonly TypePart[]): string {
  return parts.map((part) => ('code' in part ? code(part.code) : text(part.text))).join('');
}

/**
 * Text from a schema as Markdown that shows it literally: on one line, non-printing characters escaped
 * (as everywhere text is displayed), and every character Markdown might act on inside a line
 * backslash-escaped.
 */
function text(raw: string): string {
  return escapeForDisplay(raw, { lines: 'join' }).replace(/[\\`*_[\]<&~]/g, '\\$&');
}

/** Text as a paragraph of its own, whose start must not make a heading, a list, a quote or an underline either. */
function paragraph(raw: string): string {
  return text(raw.trim()).replace(/^(?:[-+=#>]|\d+(?=[.)]))/, (start) => (/\d/.test(start) ? `${start}\\` : `\\${start}`));
}

/** A code span that holds any text: its fence is longer than any run of backticks inside it. */
function code(raw: string): string {
  const shown = escapeForDisplay(raw);
  const longest = Math.max(0, ...(shown.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  // A space either side is stripped by the reader; it keeps a backtick at an end from joining the fence.
  const padded = /^`|`$/.test(shown) || /^ .*[^ ].* $/.test(shown) ? ` ${shown} ` : shown;
  return `${fence}${padded}${fence}`;
}

function plural(n: number, one: string): string {
  return `${n} ${n === 1 ? one : `${one}s`}`;
}

/** The anchors GitHub gives headings (github-slugger): a repeated one gets `-1`, `-2` … */
class Anchors {
  readonly #occurrences = new Map<string, number>();

  /** The anchor of the next heading, given the heading as it reads. */
  add(heading: string): string {
    const base = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replaceAll(' ', '-');
    let slug = base;
    while (this.#occurrences.has(slug)) {
      const n = this.#occurrences.get(base)! + 1;
      this.#occurrences.set(base, n);
      slug = `${base}-${n}`;
    }
    this.#occurrences.set(slug, 0);
    return slug;
  }
}
