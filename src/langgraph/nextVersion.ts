/**
 * The channel version after `current`.
 *
 * A channel value is stored once per (channel, version), so two different values must never share a
 * version. LangGraph's default versions (1, 2, 3 …) would: forking a thread from an older checkpoint
 * counts up from there again and would overwrite the values of the original branch. So a version is the
 * step number, zero-padded so that versions compare as strings in step order, and a random suffix that
 * tells two branches apart (as LangGraph's Postgres saver in Python does). A thread whose versions are
 * numbers (copied from another saver) keeps counting in numbers, since LangGraph compares versions with
 * `>` and a thread must not mix the two.
 */
export function nextVersion(current: string | number | undefined): string | number {
  if (typeof current === 'number') return current + 1;
  const step = current === undefined ? 0 : Number.parseInt(current.split('.', 1)[0]!, 10) || 0;
  return `${String(step + 1).padStart(STEP_DIGITS, '0')}.${suffix()}`;
}

const STEP_DIGITS = 16;

function suffix(): string {
  return Math.floor(Math.random() * 0x100000000)
    .toString(16)
    .padStart(8, '0');
}
