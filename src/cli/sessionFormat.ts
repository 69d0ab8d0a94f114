import type { ArtifactChange, ArtifactLink, SessionInfo } from '../sessions/sessionTypes.js';
import { escapeForDisplay } from '../displayText.js';
import { count, formatTable, isoTime, previewJson, type Styles } from './output.js';

/** The text forms of what the `sessions` and `artifacts` commands print. Every id, scope, key and value passes the display escape. */

/** What `sessions show` prints: the session, and the artifacts linked to it or to its scope. */
export interface SessionDetails {
  session: SessionInfo;
  artifacts: ArtifactLink[];
}

/** What `artifacts show` prints: an artifact's links, and the state changes that produced it. */
export interface ArtifactDetails {
  artifactId: string;
  links: ArtifactLink[];
  changes: ArtifactChange[];
}

/** `sessions list`: a table in id order; metadata, free text, last. */
export function formatSessionList(sessions: readonly SessionInfo[], styles: Styles): string[] {
  const rows = sessions.map((session) => [
    session.id,
    session.status,
    isoTime(session.startedAt),
    expiry(session),
    session.endedAt === undefined ? '-' : isoTime(session.endedAt),
    session.collected === undefined ? '-' : isoTime(session.collected.at),
    session.startedBy,
    session.participants.length === 0 ? '-' : session.participants.join(','),
    Object.keys(session.metadata).length === 0 ? '' : previewJson(session.metadata, 60),
  ]);
  return formatTable(['id', 'status', 'started', 'expires', 'ended', 'collected', 'started-by', 'participants', 'metadata'], rows, new Set(), styles);
}

/** `sessions show`: the session one field a line, then its artifacts. */
export function formatSessionDetails({ session, artifacts }: SessionDetails, styles: Styles): string[] {
  const lines = [
    `id            ${escapeForDisplay(session.id)}`,
    `status        ${session.status}`,
    `started       ${isoTime(session.startedAt)} by ${escapeForDisplay(session.startedBy)}`,
    `expires       ${expiry(session)}`,
  ];
  if (session.endedAt !== undefined) lines.push(`ended         ${isoTime(session.endedAt)}`);
  if (session.collected !== undefined) {
    const why = session.collected.reason === 'ttl' ? 'its time to live had passed' : 'it had ended';
    lines.push(`collected     ${isoTime(session.collected.at)}: ${count(session.collected.cleared, 'key')} cleared, as ${why}`);
  }
  lines.push(
    `participants  ${session.participants.length === 0 ? 'none' : session.participants.map((principal) => escapeForDisplay(principal)).join(', ')}`,
    `metadata      ${previewJson(session.metadata, 200)}`,
    '',
    styles.bold(`artifacts (${artifacts.length})`),
  );
  if (artifacts.length === 0) lines.push('  none linked');
  else lines.push(...indent(formatLinks(artifacts, true, styles)));
  return lines;
}

/** `artifacts show`: the links, then the changes in log order. */
export function formatArtifactDetails({ artifactId, links, changes }: ArtifactDetails, styles: Styles): string[] {
  const lines = [`artifact  ${escapeForDisplay(artifactId)}`, '', styles.bold(`links (${links.length})`), ...indent(formatLinks(links, false, styles))];
  lines.push('', styles.bold(`changes (${changes.length})`));
  if (changes.length === 0) {
    lines.push('  none: the linked changes are not in the event log (yet, or any more)');
    return lines;
  }
  const rows = changes.map((change) => [change.eventId ?? '-', isoTime(change.at), change.kind, change.scope, change.key ?? '-', change.correlationId ?? '-']);
  lines.push(...indent(formatTable(['event', 'at', 'kind', 'scope', 'key', 'correlation'], rows, new Set(), styles)));
  return lines;
}

/** A key link shows its scope, key and the change it names; a correlation link its correlation id. */
function formatLinks(links: readonly ArtifactLink[], withArtifact: boolean, styles: Styles): string[] {
  const rows = links.map((link) => [
    ...(withArtifact ? [link.artifactId] : []),
    isoTime(link.linkedAt),
    link.kind ?? '-',
    link.sessionId ?? '-',
    link.scope ?? '-',
    link.key ?? '-',
    link.change?.eventId ?? '-',
    link.correlationId ?? link.change?.correlationId ?? '-',
    Object.keys(link.metadata).length === 0 ? '' : previewJson(link.metadata, 60),
  ]);
  const header = [...(withArtifact ? ['artifact'] : []), 'linked', 'kind', 'session', 'scope', 'key', 'change', 'correlation', 'metadata'];
  return formatTable(header, rows, new Set(), styles);
}

function expiry(session: SessionInfo): string {
  return session.expiresAt === null ? 'never' : isoTime(session.expiresAt);
}

function indent(lines: readonly string[]): string[] {
  return lines.map((line) => `  ${line}`);
}
