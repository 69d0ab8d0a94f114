/**
 * A matcher for an event-kind pattern, where `*` stands for any run of characters: `agent.*` matches
 * `agent.spawned`, `*` matches everything, and a pattern without `*` matches only itself.
 */
export function kindMatcher(pattern: string): (kind: string) => boolean {
  if (pattern === '*') return () => true;
  if (!pattern.includes('*')) return (kind) => kind === pattern;
  const regex = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
  return (kind) => regex.test(kind);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
