import { readFileSync } from 'node:fs';

/**
 * The command-line arguments as the bytes the process was given, where the system says: on Linux,
 * `/proc/self/cmdline`. Undefined elsewhere, or when they cannot be matched to `argv`.
 *
 * Node decodes every argument as UTF-8 and puts U+FFFD in place of bytes that are not, so `process.argv`
 * cannot tell an invalid argument from one where the user really typed U+FFFD. The raw bytes can.
 * `argv` is `process.argv`: the node binary and the script, then the user's arguments. cmdline holds
 * node's own options between those two, so the user's arguments are its last entries.
 */
export function rawArguments(argv: readonly string[] = process.argv, read: () => Buffer = readCmdline): Buffer[] | undefined {
  let cmdline: Buffer;
  try {
    cmdline = read();
  } catch {
    return undefined;
  }
  const count = argv.length - 2;
  if (count <= 0) return [];
  // Each argument ends with a NUL, and none can hold one.
  const entries: Buffer[] = [];
  let start = 0;
  for (let end = cmdline.indexOf(0, start); end !== -1; end = cmdline.indexOf(0, start)) {
    entries.push(cmdline.subarray(start, end));
    start = end + 1;
  }
  if (entries.length < count) return undefined;
  const raw = entries.slice(-count);
  // A mismatch means the process title was changed, or the layout is not what we think: do not guess.
  const lenient = new TextDecoder('utf-8');
  for (let i = 0; i < count; i++) if (lenient.decode(raw[i]) !== argv[i + 2]) return undefined;
  return raw;
}

function readCmdline(): Buffer {
  return readFileSync('/proc/self/cmdline');
}

/** The 1-based position among the user's arguments of the first one that is not valid UTF-8, or 0. */
export function firstInvalidUtf8(raw: readonly Buffer[]): number {
  const strict = new TextDecoder('utf-8', { fatal: true });
  for (const [index, bytes] of raw.entries()) {
    try {
      strict.decode(bytes);
    } catch {
      return index + 1;
    }
  }
  return 0;
}
