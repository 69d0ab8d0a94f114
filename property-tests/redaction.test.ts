/**
 * Redaction on every surface (DESIGN §7). Generated secrets are planted where the rules say a secret
 * is: in values (by field name, by pattern, embedded or URL-encoded, under a hook's `redact` path), in
 * state keys (a secret key's value), in the actions a hook returns, in the errors it throws, and as
 * correlation ids. A runtime on a memory store takes the writes, a hook (test/fixtures/hooks/planted.mjs)
 * acts and fails as each write tells it, some executions are replayed (as recorded, and "what if" with a
 * secret patched in), and then no planted secret may appear in anything history, replay, the dead-letter
 * views or the timeline exports show.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRuntime, Scope, type Runtime } from '../src/index.js';
import { runs } from './budget.js';

const PLANTED = new URL('../test/fixtures/hooks/planted.mjs', import.meta.url);
const FORMATS = ['text', 'mermaid', 'json', 'html'] as const;

const ALNUM = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'];
const UPPER_ALNUM = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'];
const chars = (alphabet: string[], length: number) => fc.string({ unit: fc.constantFrom(...alphabet), minLength: length, maxLength: length });
/** A body no test data holds by chance: it starts with a letter and has a digit. */
const body = (length: number) => chars(ALNUM, length - 2).map((text) => `Q${text}7`);

/** A secret string and the text that carries it. */
interface Planted {
  secret: string;
  text: string;
}

/** Tokens the value patterns know, each with the prefixes it is caught after. */
const token: fc.Arbitrary<Planted & { gluedBy: readonly string[] }> = fc.oneof(
  body(30).map((b) => ({ secret: `sk-${b}`, text: `sk-${b}`, gluedBy: [] })),
  body(24).map((b) => ({ secret: `sk-ant-api03-${b}`, text: `sk-ant-api03-${b}`, gluedBy: [] })),
  fc.tuple(body(12), body(12), body(16)).map(([h, p, s]) => ({ secret: `${h}.eyJ${p}.${s}`, text: `eyJ${h}.eyJ${p}.${s}`, gluedBy: ['id_token_', 'x_'] })),
  chars(UPPER_ALNUM, 16).map((b) => ({ secret: `AKIA${b}`, text: `AKIA${b}`, gluedBy: [] })),
  body(36).map((b) => ({ secret: `ghp_${b}`, text: `ghp_${b}`, gluedBy: [] })),
  body(24).map((b) => ({ secret: `sk_live_${b}`, text: `sk_live_${b}`, gluedBy: ['STRIPE_'] })),
  body(35).map((b) => ({ secret: `AIza${b}`, text: `AIza${b}`, gluedBy: [] })),
  body(20).map((b) => ({ secret: `xoxb-${b}`, text: `xoxb-${b}`, gluedBy: [] })),
);

/** Secrets that a pattern finds with the text around them: a scheme, a URL, a key block. */
const framed: fc.Arbitrary<Planted> = fc.oneof(
  fc.tuple(fc.constantFrom('Bearer ', 'bearer\t', 'Authorization: Bearer ', 'Authorization%3A%20Bearer%20'), body(20)).map(([scheme, b]) => ({ secret: b, text: `${scheme}${b}` })),
  fc.tuple(fc.constantFrom('Basic ', 'Authorization: Basic ', 'Basic%20'), body(12)).map(([scheme, b]) => {
    // What is redacted, and must not show, is the credential as written: base64, perhaps URL-encoded.
    const base64 = Buffer.from(`user:${b}`).toString('base64');
    const secret = scheme.endsWith('%20') ? base64.replaceAll('=', '%3D') : base64;
    return { secret, text: `${scheme}${secret}` };
  }),
  fc.tuple(fc.constantFrom('https', 'postgres', 'redis'), body(14)).map(([scheme, b]) => ({ secret: b, text: `${scheme}://app:${b}@db.example.com/x` })),
  fc.tuple(fc.constantFrom('RSA PRIVATE KEY', 'PRIVATE KEY', 'OPENSSH PRIVATE KEY', 'PGP PRIVATE KEY BLOCK'), body(40)).map(([label, b]) => ({
    secret: b,
    text: `-----BEGIN ${label}-----\n${b}\n-----END ${label}-----`,
  })),
);

/** A pattern secret inside a string: alone, in a sentence, glued on, or after a URL-encoded space. */
const patternText: fc.Arbitrary<Planted> = fc.oneof(
  fc
    .tuple(token, fc.constantFrom('', ' ', 'see ', '%20', 'key=', '(', '"', '\n'), fc.constantFrom('', ' ', '.', ';', '&x=1', '\n', '%20', ')'), fc.boolean())
    .map(([{ secret, text, gluedBy }, before, after, glue]) => ({ secret, text: `${glue && gluedBy.length > 0 ? gluedBy[0] : before}${text}${after}` })),
  fc.tuple(framed, fc.constantFrom('', 'note: ', 'x '), fc.constantFrom('', ' and more', '\n')).map(([{ secret, text }, before, after]) => ({ secret, text: `${before}${text}${after}` })),
);

/** How words are joined: `-`, `_`, a space, camelCase, or nothing. */
function join(words: string[], style: 'lower' | 'upper' | 'camel', separator: string): string {
  if (style === 'camel') return words.map((word, index) => (index === 0 ? word : word[0].toUpperCase() + word.slice(1))).join('');
  const joined = words.join(separator);
  return style === 'upper' ? joined.toUpperCase() : joined;
}
const style = fc.constantFrom('lower' as const, 'upper' as const, 'camel' as const);
const separator = fc.constantFrom('_', '-', '');

/** Field names the rules call secret: a noun secret on its own, or `key`/`keys`/`tokens` after a qualifier. */
const secretName: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(fc.constantFrom([], ['db'], ['github'], ['webhook'], ['aws', 'secret']), fc.constantFrom('password', 'passwd', 'passphrase', 'secret', 'secrets', 'token', 'credentials'), style, separator)
    .map(([before, noun, s, sep]) => join([...before, noun], s, sep)),
  fc
    .tuple(fc.constantFrom('api', 'access', 'secret', 'private', 'signing', 'encryption', 'ssh', 'master', 'hmac'), fc.constantFrom('key', 'keys'), style, separator)
    .map(([qualifier, noun, s, sep]) => join([qualifier, noun], s, sep)),
  fc.tuple(fc.constantFrom('access', 'refresh', 'id', 'session', 'oauth'), style, separator).map(([qualifier, s, sep]) => join([qualifier, 'tokens'], s, sep)),
  fc.constantFrom('aws_secret_access_key', 'pwd', 'auth', 'authorization', 'cookie', 'set-cookie', 'private_key'),
);

/** A state key whose value is a secret: a secret name, alone or as one segment of a path. */
const secretKey: fc.Arbitrary<string> = fc.oneof(
  secretName.filter((name) => !/^\s|\s$/.test(name)),
  fc.tuple(fc.constantFrom('password', 'secrets', 'token', 'ssh_key', 'apiKey'), fc.constantFrom('admin', 'openai', 'github'), fc.constantFrom('/', '.', ':'), fc.boolean()).map(([secret, other, sep, first]) =>
    first ? `${secret}${sep}${other}` : `${other}${sep}${secret}`,
  ),
);

/** A plain secret: nothing about the string says so; only where it sits does. */
const plainSecret = body(18).map((b) => `S${b}`);

interface Write {
  scope: 'a1' | 'a2';
  key: { secret: string } | { plain: string };
  /** Fields of the value; each planted secret is listed in `secrets`. */
  value: Record<string, unknown>;
  secrets: string[];
  correlation: { planted: Planted } | { plain: string } | undefined;
}

/** What a write tells the hook to do, with the secrets it plants there. */
const told = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ hook: undefined, secrets: [] as string[] }) },
  fc.tuple(secretKey, plainSecret).map(([key, value]) => ({ hook: { actions: [{ type: 'set', key, value }] }, secrets: [value] })),
  patternText.map(({ secret, text }) => ({ hook: { actions: [{ type: 'set', key: 'note', value: { text } }] }, secrets: [secret] })),
  patternText.map(({ secret, text }) => ({ hook: { output: { said: text } }, secrets: [secret] })),
  patternText.map(({ secret, text }) => ({ hook: { throw: `upstream refused: ${text}` }, secrets: [secret] })),
);

const write: fc.Arbitrary<Write> = fc
  .record({
    scope: fc.constantFrom('a1' as const, 'a2' as const),
    key: fc.oneof(fc.constantFrom('topic', 'note', 'k1').map((plain) => ({ plain })), secretKey.map((secret) => ({ secret }))),
    named: fc.array(fc.tuple(secretName, plainSecret), { maxLength: 2 }),
    patterns: fc.array(patternText, { maxLength: 2 }),
    card: fc.option(plainSecret, { nil: undefined }),
    told,
    correlation: fc.oneof(fc.constant(undefined), fc.constantFrom('story-1', 'story-2').map((plain) => ({ plain })), patternText.filter(({ text }) => text.length <= 128 && !/[\x00-\x1f]/.test(text)).map((planted) => ({ planted }))),
    keyValue: plainSecret,
  })
  .map(({ scope, key, named, patterns, card, told: { hook, secrets }, correlation, keyValue }) => {
    const value: Record<string, unknown> = { n: 1 };
    const planted = [...secrets];
    for (const [name, secret] of named) {
      value[name] = secret;
      planted.push(secret);
    }
    patterns.forEach(({ secret, text }, index) => {
      value[`note${index}`] = text;
      planted.push(secret);
    });
    if (card !== undefined) {
      value.card = card;
      planted.push(card);
    }
    if (hook !== undefined) value.hook = hook;
    if ('secret' in key) {
      // The whole value under a secret key is hidden: plant a plain secret in it too.
      value.plain = keyValue;
      planted.push(keyValue);
    }
    if (correlation !== undefined && 'planted' in correlation) planted.push(correlation.planted.secret);
    return { scope, key, value, secrets: planted, correlation };
  });

async function drive(rt: Runtime, writes: Write[]): Promise<string[]> {
  await rt.hooks.register({ name: 'planted', module: PLANTED, on: ['state.set'], maxAttempts: 1, redact: ['value.card'] });
  const correlations = new Set<string>();
  for (const { scope, key, value, correlation } of writes) {
    const stateKey = 'secret' in key ? key.secret : key.plain;
    const options = correlation === undefined ? {} : { correlationId: 'planted' in correlation ? correlation.planted.text : correlation.plain };
    const { correlationId } = await rt.correlate(() => rt.state.set(Scope.agent(scope), stateKey, value, options));
    correlations.add(options.correlationId ?? correlationId);
  }
  await rt.hooks.idle();
  return [...correlations];
}

/** Everything the public API shows of the hook's work and of each story. */
async function everythingShown(rt: Runtime, correlations: string[], patchSecret: string): Promise<Record<string, string>> {
  const history = await rt.hooks.history({ limit: 10_000 });
  const shown: Record<string, string> = {
    history: JSON.stringify(history),
    historyMetadata: JSON.stringify(await rt.hooks.historyMetadata({ limit: 10_000 })),
    deadLetters: JSON.stringify(await rt.hooks.deadLetters()),
  };
  for (const execution of history) shown[`execution ${execution.executionId}`] = JSON.stringify(await rt.hooks.execution(execution.executionId));
  for (const execution of history.slice(0, 2)) {
    shown[`replay ${execution.executionId}`] = JSON.stringify(await rt.hooks.replay(execution.executionId));
    const whatIf = await rt.hooks.replay(execution.executionId, { patch: { value: { ssh_key: patchSecret, card: patchSecret } } });
    shown[`what-if ${execution.executionId}`] = JSON.stringify(whatIf);
  }
  // Replays are history too, and hang on the timelines.
  shown.historyAfterReplays = JSON.stringify(await rt.hooks.history({ limit: 10_000 }));
  for (const correlationId of correlations) {
    shown[`timeline ${correlationId}`] = JSON.stringify(await rt.events.timeline(correlationId));
    for (const format of FORMATS) shown[`${format} export of ${correlationId}`] = await rt.events.exportTimeline(correlationId, format);
  }
  return shown;
}

describe('redaction (property)', () => {
  it('planted secrets never appear in history, replay, dead-letter or export output', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(write, { minLength: 1, maxLength: 6 }), plainSecret, async (writes, patchSecret) => {
        const rt = await createRuntime({ memory: true, hooks: { threads: 1 } });
        try {
          const correlations = await drive(rt, writes);
          const shown = await everythingShown(rt, correlations, patchSecret);
          const secrets = [...writes.flatMap((one) => one.secrets), patchSecret];
          for (const [where, text] of Object.entries(shown)) {
            for (const secret of secrets) assert.ok(!text.includes(secret), `${JSON.stringify(secret)} shows in the ${where}`);
          }
        } finally {
          await rt.close();
        }
      }),
      { numRuns: runs(12) },
    );
  });
});
