import { describeOption } from '../checkOptions.js';
import { normalizePrincipal } from '../state/principal.js';
import { LlmStateError } from '../errors.js';
import { serializeValue } from '../state/values.js';

const CONTROL = /[\x00-\x1f\x7f-\x9f]/;

/** Longest artifact id: room for a path or a URL. */
const MAX_ARTIFACT_ID_LENGTH = 1024;

/**
 * A session's participants: principals in their canonical form, each once, in the order given.
 *
 * @throws {TypeError} for anything but an array of principals (src/access/principal.ts), naming the bad one.
 */
export function checkParticipants(participants: unknown): string[] {
  if (!Array.isArray(participants)) {
    throw new TypeError(`Expected \`participants\` to be an array of principals (such as 'agent:ada'), got ${describeOption(participants)}`);
  }
  const names = participants.map((principal, index) => {
    try {
      return normalizePrincipal(principal);
    } catch (error) {
      throw new TypeError(`\`participants[${index}]\`: ${(error as Error).message}`);
    }
  });
  return [...new Set(names)];
}

/** @throws {TypeError} for anything but 1–1024 characters without control characters. */
export function checkArtifactId(artifactId: unknown): asserts artifactId is string {
  if (typeof artifactId !== 'string' || artifactId.length === 0 || artifactId.length > MAX_ARTIFACT_ID_LENGTH || CONTROL.test(artifactId)) {
    throw new TypeError(
      `Expected \`artifactId\` to be 1–${MAX_ARTIFACT_ID_LENGTH} characters without control characters, got ${describeOption(artifactId)}`,
    );
  }
}

/**
 * Metadata of a session or a link: a plain object of JSON data, copied.
 *
 * @throws {TypeError} when it is not a plain object. @throws {VALUE_INVALID} naming the bad part.
 * @throws {VALUE_TOO_LARGE} beyond `maxBytes` as JSON.
 */
export function checkMetadata(metadata: unknown, maxBytes: number, owner: string): Record<string, unknown> {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new TypeError(`Expected \`metadata\` to be a plain object of JSON data, got ${describeOption(metadata)}`);
  }
  let json: string;
  try {
    json = serializeValue(metadata, maxBytes);
  } catch (error) {
    if (!(error instanceof LlmStateError)) throw error;
    throw new LlmStateError(error.code, `The metadata of ${owner}: ${error.message}`, { cause: error, details: { ...error.details, field: 'metadata' } });
  }
  return JSON.parse(json) as Record<string, unknown>;
}

/** @throws {TypeError} unless absent or a non-empty string of at most 128 characters without control characters. */
export function checkLinkKind(kind: unknown): void {
  if (kind !== undefined && (typeof kind !== 'string' || kind.length === 0 || kind.length > 128 || CONTROL.test(kind))) {
    throw new TypeError(`Expected \`kind\` to be 1–128 characters without control characters, got ${describeOption(kind)}`);
  }
}
