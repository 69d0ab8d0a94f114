/**
 * How an option's validation message shows the value it got: `` `-1` (number) ``, `` `"./data"` (string) ``,
 * `` `null` ``, cut at 60 characters. @internal
 */
export function describeOption(value: unknown): string {
  if (value === null) return '`null`';
  const type = Array.isArray(value) ? 'array' : typeof value;
  let shown: string;
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' ? (JSON.stringify(value) ?? String(value)) : String(value);
  } catch {
    shown = String(value);
  }
  return `\`${shown.length > 60 ? `${shown.slice(0, 60)}…` : shown}\` (${type})`;
}
