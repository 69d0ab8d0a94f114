import { appendFile } from 'node:fs/promises';

interface AuditedEvent {
  id: string;
  at: number;
  kind: string;
  scope?: string;
  key?: string;
  agentId?: string;
  correlationId: string;
  causationId?: string;
}

/**
 * Built-in `audit`: one audit entry per event, without values. With `options.file` the entries are
 * appended to that file as JSON lines; otherwise the runtime writes them to the audit log.
 */
export default async function audit(events: AuditedEvent[], ctx: { options?: { file?: string } }) {
  const entries = events.map(({ id, at, kind, scope, key, agentId, correlationId, causationId }) => ({
    eventId: id,
    at,
    kind,
    ...(scope === undefined ? {} : { scope }),
    ...(key === undefined ? {} : { key }),
    ...(agentId === undefined ? {} : { agentId }),
    correlationId,
    ...(causationId === undefined ? {} : { causationId }),
  }));
  const file = ctx.options?.file;
  if (file !== undefined) {
    await appendFile(file, entries.map((entry) => JSON.stringify(entry) + '\n').join(''));
    return { output: { appended: entries.length, file } };
  }
  return { output: { entries } };
}
