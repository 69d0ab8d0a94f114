import { describeOption } from '../checkOptions.js';

/** The longest schema name, in characters. */
export const MAX_SCHEMA_NAME_LENGTH = 64;

// Strict semver core: no leading zeros, no prerelease or build part. Each part is also held to
// Number.MAX_SAFE_INTEGER, as npm's semver does, so that versions compare as numbers.
const VERSION = /^(0|[1-9]\d{0,15})\.(0|[1-9]\d{0,15})\.(0|[1-9]\d{0,15})$/;
const SCHEMA_NAME = new RegExp(`^[A-Za-z][A-Za-z0-9._-]{0,${MAX_SCHEMA_NAME_LENGTH - 1}}$`);

const VERSION_WORDING = 'a version `MAJOR.MINOR.PATCH` like `1.2.0` (digits, no leading zeros, no pre-release)';
const NAME_WORDING = `a schema name: 1 to ${MAX_SCHEMA_NAME_LENGTH} letters, digits, \`.\`, \`_\` or \`-\`, starting with a letter`;

/**
 * Checks that `version` is a strict semantic version, `MAJOR.MINOR.PATCH`.
 *
 * @param what The argument's name, as the message shows it. @default 'version'
 * @throws {TypeError} reading like ``Expected `version` to be a version `MAJOR.MINOR.PATCH` like `1.2.0` …, got `"1.2"` (string)``.
 * @example checkVersion(input.from, 'from')
 */
export function checkVersion(version: unknown, what = 'version'): asserts version is string {
  partsOf(version, what);
}

/** True when `version` is a strict `MAJOR.MINOR.PATCH` version. */
export function isVersion(version: unknown): version is string {
  return parseParts(version) !== undefined;
}

/**
 * Orders two versions by semantic-version precedence: major, then minor, then patch, as numbers.
 *
 * @returns A negative number when `a` is older, 0 when they are the same version, a positive one when `a` is newer.
 * @throws {TypeError} when either is not a version.
 * @example ['1.10.0', '1.2.0'].sort(compareVersions) // ['1.2.0', '1.10.0']
 */
export function compareVersions(a: string, b: string): number {
  const left = partsOf(a, 'a');
  const right = partsOf(b, 'b');
  for (let i = 0; i < 3; i++) {
    if (left[i] !== right[i]) return left[i] < right[i] ? -1 : 1;
  }
  return 0;
}

/**
 * Checks a schema's name: 1 to 64 characters of `A-Z a-z 0-9 . _ -`, starting with a letter. A name
 * never holds `@`, which separates it from the version in a reference (`profile@1.0.0`).
 *
 * @param what The argument's name, as the message shows it. @default 'name'
 * @throws {TypeError} reading like ``Expected `name` to be a schema name: …, got `"9lives"` (string)``.
 */
export function checkSchemaName(name: unknown, what = 'name'): asserts name is string {
  if (typeof name !== 'string' || !SCHEMA_NAME.test(name)) {
    throw new TypeError(`Expected \`${what}\` to be ${NAME_WORDING}, got ${describeOption(name)}`);
  }
}

/**
 * Splits a schema reference, `name@MAJOR.MINOR.PATCH`, into its name and version.
 *
 * @param what The argument's name, as the message shows it. @default 'ref'
 * @throws {TypeError} when `ref` is not a string of that form, naming the part that is wrong.
 * @example parseSchemaRef('profile@1.0.0') // { name: 'profile', version: '1.0.0' }
 */
export function parseSchemaRef(ref: string, what = 'ref'): { name: string; version: string } {
  const at = typeof ref === 'string' ? ref.indexOf('@') : -1;
  const name = at === -1 ? undefined : ref.slice(0, at);
  const version = at === -1 ? undefined : ref.slice(at + 1);
  if (name === undefined || version === undefined || !SCHEMA_NAME.test(name) || !isVersion(version)) {
    const why = name === undefined ? '' : !SCHEMA_NAME.test(name) ? `: the name must be ${NAME_WORDING}` : `: the version must be ${VERSION_WORDING}`;
    throw new TypeError(`Expected \`${what}\` to be a schema reference \`name@version\` like \`profile@1.0.0\`, got ${describeOption(ref)}${why}`);
  }
  return { name, version };
}

/**
 * The reference that names one version of a schema, as {@link parseSchemaRef} reads it back.
 *
 * @throws {TypeError} when the name or the version is not valid.
 * @example schemaRef('profile', '2.0.0') // 'profile@2.0.0'
 */
export function schemaRef(name: string, version: string): string {
  checkSchemaName(name);
  checkVersion(version);
  return `${name}@${version}`;
}

function partsOf(version: unknown, what: string): [number, number, number] {
  const parts = parseParts(version);
  if (parts === undefined) throw new TypeError(`Expected \`${what}\` to be ${VERSION_WORDING}, got ${describeOption(version)}`);
  return parts;
}

function parseParts(version: unknown): [number, number, number] | undefined {
  if (typeof version !== 'string') return undefined;
  const match = VERSION.exec(version);
  if (match === null) return undefined;
  const parts: [number, number, number] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return parts.every(Number.isSafeInteger) ? parts : undefined;
}
