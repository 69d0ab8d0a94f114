import type { Sessions } from '../../sessions/Sessions.js';
import { Scope } from '../../state/Scope.js';
import type { Need } from '../Gate.js';
import type { Rules } from '../guarded.js';
import { readOnce } from './readOnce.js';

/** The scope of session `id`, or its string form for an id the scope rules refuse (the check then refuses it). */
function sessionScope(id: unknown): Scope | string {
  try {
    return Scope.session(id as string);
  } catch {
    return `session:${String(id)}`;
  }
}

/**
 * `rt.sessions`: a session is its scope, `session:<id>`, under the session rules of docs/access.md.
 * Anyone may start one (and is then a member of it), but only one who may already write its scope may
 * name its id; ending it is a write to it; reading it, or its
 * artifacts, needs `read`. Linking an artifact needs `read` on the scope it names and `write` on the
 * session it joins; linking a correlation id alone, `read` on every scope its changes touched. An
 * artifact's links show only those whose scope and session are readable.
 * Listings show only what the principal can read. Collection is system's.
 */
export const SESSIONS_RULES: Rules<Sessions> = {
  // Naming the id would claim whatever that session scope already holds: only one who may write it may.
  start: (gate, sessions, given) => {
    const options = readOnce(given);
    return options?.id !== undefined && !gate.isSystem
      ? gate.async('sessions.start', [{ scope: sessionScope(options.id), operation: 'write' }], () => sessions.start(options))
      : gate.open('sessions.start', 'promise', () => sessions.start(options));
  },
  end: (gate, sessions, id) => gate.async('sessions.end', [{ scope: sessionScope(id), operation: 'write' }], () => sessions.end(id)),
  get: (gate, sessions, id) => gate.async('sessions.get', [{ scope: sessionScope(id), operation: 'read' }], () => sessions.get(id)),
  list: (gate, sessions, options) =>
    gate.open('sessions.list', 'promise', async () => (await sessions.list(options)).filter((session) => gate.allows(sessionScope(session.id), 'read'))),
  gc: (gate, sessions, options) => gate.systemOnly('sessions.gc', 'promise', () => sessions.gc(options)),
  linkArtifact: (gate, sessions, artifactId, given) => {
    const options = readOnce(given);
    const needs: Need[] = [];
    if (options?.scope !== undefined) needs.push({ scope: options.scope, operation: 'read', ...(typeof options.key === 'string' ? { key: options.key } : {}) });
    if (options?.sessionId !== undefined) needs.push({ scope: sessionScope(options.sessionId), operation: 'write' });
    const byCorrelation = !gate.isSystem && options?.scope === undefined && options?.key === undefined && options?.correlationId !== undefined;
    if (!byCorrelation) return gate.async('sessions.linkArtifact', needs, () => sessions.linkArtifact(artifactId, options));
    // The link's event tells how many changes were made under the id: each scope they touched must be readable.
    const mayLink = (scopes: string[]) => gate.async('sessions.linkArtifact', scopes.map((scope) => ({ scope, operation: 'read' as const })), async () => undefined);
    return gate.async('sessions.linkArtifact', needs, () => sessions.linkArtifactChecked(artifactId, options, mayLink));
  },
  linkArtifactChecked: (gate, sessions, artifactId, options, mayLink) => gate.systemOnly('sessions.linkArtifactChecked', 'promise', () => sessions.linkArtifactChecked(artifactId, options, mayLink)),
  changesByArtifact: (gate, sessions, artifactId) =>
    gate.open('sessions.changesByArtifact', 'promise', async () => (await sessions.changesByArtifact(artifactId)).filter((change) => gate.allows(change.scope, 'read'))),
  // A link shows the scope and session it names: each must be readable. A link to a correlation id
  // alone names no scope, like the events of no scope, which are system's.
  linksOf: (gate, sessions, artifactId) =>
    gate.open('sessions.linksOf', 'promise', async () =>
      (await sessions.linksOf(artifactId)).filter((link) =>
        link.scope === undefined && link.sessionId === undefined
          ? gate.isSystem
          : (link.scope === undefined || gate.allows(link.scope, 'read')) && (link.sessionId === undefined || gate.allows(sessionScope(link.sessionId), 'read')),
      ),
    ),
  artifactsOf: (gate, sessions, given) => {
    const target = readOnce(given);
    const scope = typeof target === 'object' && target !== null && !Scope.isScope(target) ? sessionScope((target as { sessionId: unknown }).sessionId) : (target as Scope | string);
    // A session's links may point into scopes its reader cannot read: those are not shown.
    return gate.async('sessions.artifactsOf', [{ scope, operation: 'read' }], async () => (await sessions.artifactsOf(target)).filter((link) => link.scope === undefined || gate.allows(link.scope, 'read')));
  },
  accessInfo: (gate, sessions, id) => gate.systemOnly('sessions.accessInfo', 'value', () => sessions.accessInfo(id)),
  load: (gate, sessions) => gate.systemOnly('sessions.load', 'promise', () => sessions.load()),
  stop: (gate, sessions) => gate.systemOnly('sessions.stop', 'promise', () => sessions.stop()),
  refresh: (gate, sessions, keys) => gate.systemOnly('sessions.refresh', 'promise', () => sessions.refresh(keys)),
};
