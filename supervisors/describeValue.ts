/**
 * How a validation message shows the value it got: `` `'always'` (string) ``, `` `-1` (number) ``, `` `null` ``.
 * @internal
 */
export function describeValue(value: unknown): string {
  if (value === null) return '`null`';
  const type = Array.isArray(value) ? 'array' : typeof value;
  let shown: string;
  if (typeof value === 'string') {
    shown = `'${value.replace(/'/g, "\\'")}'`;
  } else if (typeof value === 'function') {
    shown = `[function ${value.name || 'anonymous'}]`;
  } else if (typeof value === 'object') {
    try {
      shown = JSON.stringify(value) ?? String(value);
    } catch {
      shown = String(value);
    }
  } else {
    shown = String(value);
  }
  return `\`${shown.length > 60 ? `${shown.slice(0, 60)}…` : shown}\` (${type})`;
}
