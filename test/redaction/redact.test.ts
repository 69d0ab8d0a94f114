import assert from 'node:assert/strict';
import {
  checkRedactPaths,
  isSecretFieldName,
  MAX_REDACT_DEPTH,
  mightNeedRedaction,
  redact,
  redactDeadLetter,
  REDACTED,
  redactError,
  redactExecution,
  redactView,
  TOO_DEEP,
} from '../../src/redaction/index.js';
import { redactString } from '../../src/redaction/secretPatterns.js';

// Fake secrets are assembled at run time so that secret scanners do not flag this file.
const OPENAI = 'sk-' + 'Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z'.repeat(2);
const OPENAI_PROJECT = 'sk-proj-' + 'Ab3_dEf6-hIj9kLm2nOp5qRs8tUv1wXy4z'.repeat(3);
const ANTHROPIC = 'sk-ant-api03-' + 'Zy9xWv8uTs7rQp6oNm5lKj4iHg3fEd2cBa1'.repeat(3) + '-AA';
const JWT = 'eyJhbGciOiJIUzI1NiJ9' + '.' + 'eyJzdWIiOiIxMjM0NTY3ODkwIn0' + '.' + 'dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const AWS_KEY = 'AKIA' + 'IOSFODNN7EXAMPLE';
const AWS_SESSION_KEY = 'ASIA' + 'Q3EGRVA2EXAMPLE7';
const GITHUB_CLASSIC = 'ghp_' + 'aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6';
const GITHUB_OAUTH = 'gho_' + 'aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6';
const GITHUB_FINE = 'github_pat_' + '11ABCDEFG0123456789abc_' + 'x'.repeat(59);
const SLACK = 'xoxb-' + '123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';
const PEM =
  '-----BEGIN RSA PRIVATE KEY-----\n' +
  'MIIEpAIBAAKCAQEA7Q2example+base64/body==\nProc-Type: 4,ENCRYPTED\nDEK-Info: DES-EDE3-CBC,ABC\n' +
  '-----END RSA PRIVATE KEY-----';

function json(value: unknown): string {
  return JSON.stringify(value);
}

describe('redact', () => {
  describe('field names', () => {
    const names = [
      'password',
      'passwd',
      'pwd',
      'secret',
      'token',
      'access_token',
      'refresh_token',
      'id_token',
      'api_key',
      'apikey',
      'authorization',
      'auth',
      'cookie',
      'set-cookie',
      'private_key',
      'client_secret',
      'session_token',
      'credentials',
    ];
    for (const name of names) {
      it(`redacts the value of \`${name}\``, () => {
        assert.deepEqual(redact({ [name]: 'hunter2', other: 'kept' }), { [name]: REDACTED, other: 'kept' });
      });
    }

    it('ignores case, `-`, `_` and spaces when comparing names', () => {
      const input = { apiKey: 'a', api_key: 'b', 'API-KEY': 'c', 'Api Key': 'd', PASSWORD: 'e', 'Set_Cookie': 'f' };
      const out = redact(input) as Record<string, unknown>;
      assert.deepEqual(Object.keys(out), Object.keys(input), 'keys are never changed');
      for (const value of Object.values(out)) assert.equal(value, REDACTED);
    });

    it('redacts names that end with password, secret, token or apikey', () => {
      const out = redact({ dbPassword: 'a', webhook_secret: 'b', githubToken: 'c', 'openai-api-key': 'd' });
      assert.deepEqual(out, { dbPassword: REDACTED, webhook_secret: REDACTED, githubToken: REDACTED, 'openai-api-key': REDACTED });
    });

    it('keeps names that only contain a secret word', () => {
      const input = { maxTokens: 1024, tokenCount: 3, author: 'ann', passwordHint: 'pet', secretary: 'bob', authority: 'x' };
      assert.deepEqual(redact(input), input);
    });

    it('redacts the whole value under a secret name, even an object or an array', () => {
      const out = redact({ credentials: { user: 'u', pass: 'p' }, tokens: [1], token: ['a', 'b'] });
      assert.deepEqual(out, { credentials: REDACTED, tokens: [1], token: REDACTED });
    });

    it('redacts secret names at any depth, including inside arrays', () => {
      const out = redact({ events: [{ value: { headers: [{ Authorization: 'Basic abc' }] } }] });
      assert.deepEqual(out, { events: [{ value: { headers: [{ Authorization: REDACTED }] } }] });
    });
  });

  describe('patterns in strings', () => {
    const positives: [string, string][] = [
      ['an OpenAI key', OPENAI],
      ['an OpenAI project key', OPENAI_PROJECT],
      ['an Anthropic key', ANTHROPIC],
      ['a JWT', JWT],
      ['an AWS access key id', AWS_KEY],
      ['an AWS session key id', AWS_SESSION_KEY],
      ['a GitHub classic token', GITHUB_CLASSIC],
      ['a GitHub OAuth token', GITHUB_OAUTH],
      ['a GitHub fine-grained token', GITHUB_FINE],
      ['a Slack token', SLACK],
    ];
    for (const [what, secret] of positives) {
      it(`replaces ${what} and keeps the rest of the string`, () => {
        assert.equal(redact(`use ${secret} now`), `use ${REDACTED} now`);
        assert.equal(redact(secret), REDACTED);
        assert.equal(redact(`key=${secret};`), `key=${REDACTED};`);
      });
    }

    it('replaces the token of a Bearer credential and keeps the scheme', () => {
      assert.equal(redact('Authorization: Bearer abc123.def-456_ghi'), `Authorization: Bearer ${REDACTED}`);
      assert.equal(redact('curl -H "authorization: bearer 9f86d081884c7d65"'), `curl -H "authorization: bearer ${REDACTED}"`);
    });

    it('replaces a PEM private key block, headers included', () => {
      assert.equal(redact(`key:\n${PEM}\nend`), `key:\n${REDACTED}\nend`);
      const pkcs8 = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----';
      assert.equal(redact(pkcs8), REDACTED);
    });

    it('replaces a truncated PEM private key to the end of the string', () => {
      assert.equal(redact('x -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk'), `x ${REDACTED}`);
    });

    it('keeps a PEM public key or certificate', () => {
      const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
      assert.equal(redact(cert), cert);
    });

    it('replaces several secrets in one string', () => {
      assert.equal(redact(`${AWS_KEY} and ${GITHUB_CLASSIC}`), `${REDACTED} and ${REDACTED}`);
    });

    const negatives = [
      'task-list',
      'skeleton',
      'ask-me-anything',
      'sk-short',
      'the risk-assessment-for-the-quarter-ends-today',
      'my-task-0123456789abcdefghijklmn',
      'eyJ alone',
      'AKIA1234',
      'AKIAIOSFODNN7EXAMPLEX',
      'ghp_tooShort123',
      'xoxb-',
      'the bearer of bad news',
      'Bearer instruments',
      'version 1.2.3 and a.b.c',
      'ordinary text with a path /usr/local/bin',
    ];
    for (const text of negatives) {
      it(`keeps ${JSON.stringify(text)}`, () => {
        assert.equal(redact(text), text);
      });
    }

    it('scans long hostile strings in linear time', () => {
      const hostile = [
        'sk-'.repeat(200_000),
        'eyJ'.repeat(200_000),
        'eyJa.'.repeat(100_000),
        '-----BEGIN PRIVATE KEY-----' + '-'.repeat(300_000),
        'bearer '.repeat(100_000),
        'AKIA'.repeat(200_000),
      ];
      const started = performance.now();
      for (const text of hostile) redact(text);
      assert.ok(performance.now() - started < 2000, 'hostile strings take well under a second each');
    });
  });

  describe('paths', () => {
    it('redacts a dotted path from the root', () => {
      const out = redact({ value: { user: { email: 'a@b.c', name: 'ann' } } }, ['value.user.email']);
      assert.deepEqual(out, { value: { user: { email: REDACTED, name: 'ann' } } });
    });

    it('matches any field or element with `*`', () => {
      const input = [{ value: { card: '4111', name: 'a' } }, { value: { card: '5500', name: 'b' } }];
      assert.deepEqual(redact(input, ['*.value.card']), [
        { value: { card: REDACTED, name: 'a' } },
        { value: { card: REDACTED, name: 'b' } },
      ]);
      assert.deepEqual(redact({ a: { x: 1 }, b: { x: 2 } }, ['*.x']), { a: { x: REDACTED }, b: { x: REDACTED } });
    });

    it('selects one array element with `[n]`', () => {
      const input = { events: [{ data: 'first' }, { data: 'second' }] };
      assert.deepEqual(redact(input, ['events[0].data']), { events: [{ data: REDACTED }, { data: 'second' }] });
      assert.deepEqual(redact(input, ['events[1]']), { events: [{ data: 'first' }, REDACTED] });
      assert.deepEqual(redact(input, ['events[*].data']), { events: [{ data: REDACTED }, { data: REDACTED }] });
    });

    it('starts a path with an index when the root is an array', () => {
      assert.deepEqual(redact([{ v: 1 }, { v: 2 }], ['[1].v']), [{ v: 1 }, { v: REDACTED }]);
    });

    it('walks nested arrays', () => {
      const input = { grid: [[{ s: 'a' }, { s: 'b' }], [{ s: 'c' }]] };
      assert.deepEqual(redact(input, ['grid[1][0].s']), { grid: [[{ s: 'a' }, { s: 'b' }], [{ s: REDACTED }]] });
      assert.deepEqual(redact(input, ['grid.*.*.s']), { grid: [[{ s: REDACTED }, { s: REDACTED }], [{ s: REDACTED }]] });
    });

    it('redacts a whole subtree when the path ends at an object', () => {
      assert.deepEqual(redact({ a: { b: { c: 1 } } }, ['a.b']), { a: { b: REDACTED } });
    });

    it('ignores a path that matches nothing, and a name step over an array', () => {
      const input = { a: [{ b: 1 }], c: 2 };
      assert.deepEqual(redact(input, ['x.y', 'a.b', 'c.d', 'a[5]']), input);
    });

    it('applies several paths at once', () => {
      assert.deepEqual(redact({ a: 1, b: 2, c: 3 }, ['a', 'c']), { a: REDACTED, b: 2, c: REDACTED });
    });
  });

  describe('checkRedactPaths', () => {
    it('accepts every documented form', () => {
      checkRedactPaths(['value.user.email', '*.value.card', 'events[0].data', '[0]', 'a[*].b', 'a[10][2]', 'first name']);
      assert.deepEqual(redact({ 'first name': 'x' }, ['first name']), { 'first name': REDACTED });
    });

    const invalid = ['', '.a', 'a.', 'a..b', 'a*', '*a', 'a[', 'a[x]', 'a[-1]', 'a[01]', 'a.[0]', 'a[0]b', 'a]'];
    for (const path of invalid) {
      it(`rejects ${JSON.stringify(path)} with a TypeError`, () => {
        assert.throws(() => checkRedactPaths([path]), (err: unknown) => {
          assert.ok(err instanceof TypeError);
          assert.match(err.message, /redact path/);
          return true;
        });
        assert.throws(() => redact({}, [path]), TypeError);
      });
    }

    it('names the path and the position in the message', () => {
      assert.throws(() => checkRedactPaths(['user..email']), {
        name: 'TypeError',
        message: 'Expected redact path `user..email` to be names or `*` joined by `.`, with optional `[n]` or `[*]` indexes; invalid at position 4',
      });
    });

    it('rejects a value that is not an array of strings', () => {
      assert.throws(() => checkRedactPaths('a.b'), { name: 'TypeError', message: 'Expected redact paths to be an array of strings, got `a.b` (string)' });
      assert.throws(() => checkRedactPaths([1]), { name: 'TypeError', message: 'Expected a redact path to be a string, got `1` (number)' });
    });
  });

  describe('copying', () => {
    it('does not mutate the input', () => {
      const input = { password: 'p', list: [{ token: 't', text: `key ${OPENAI}` }], user: { email: 'e' } };
      const before = structuredClone(input);
      const out = redact(input, ['user.email']);
      assert.deepEqual(input, before);
      assert.notEqual(out, input);
      assert.notEqual((out as typeof input).list, input.list);
    });

    it('never lets a secret through into the serialised output', () => {
      const secrets = [OPENAI, OPENAI_PROJECT, ANTHROPIC, JWT, AWS_KEY, GITHUB_CLASSIC, GITHUB_FINE, SLACK, PEM, 'hunter2', 'a@b.c'];
      const input = {
        events: [
          { value: { password: 'hunter2', note: `first ${OPENAI} then ${JWT}`, user: { email: 'a@b.c' } } },
          { value: { nested: [[`${AWS_KEY}`], { deep: { text: `${GITHUB_CLASSIC} ${GITHUB_FINE}` } }] } },
          { value: { log: `Bearer ${SLACK}\n${PEM}`, other: [OPENAI_PROJECT, ANTHROPIC] } },
        ],
      };
      const out = json(redact(input, ['events[*].value.user.email']));
      for (const secret of secrets) assert.ok(!out.includes(secret), `output contains ${secret.slice(0, 12)}…`);
      assert.ok(out.includes('first [REDACTED] then [REDACTED]'));
    });

    it('keeps non-secret JSON values as they are', () => {
      const input = { n: 1.5, b: false, z: null, s: 'plain', a: [1, 'two', null], o: {} };
      assert.deepEqual(redact(input), input);
      assert.equal(redact(7), 7);
      assert.equal(redact(null), null);
    });

    it('copies a `__proto__` key as data', () => {
      const input = JSON.parse('{"__proto__": {"token": "t", "x": 1}}') as object;
      const out = redact(input) as Record<string, unknown>;
      assert.equal(Object.getPrototypeOf(out), Object.prototype);
      assert.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, { token: REDACTED, x: 1 });
    });

    it('treats values as JSON: toJSON, and undefined members', () => {
      const out = redact({ at: new Date(0), gone: undefined, list: [undefined, () => 1] });
      assert.deepEqual(out, { at: '1970-01-01T00:00:00.000Z', list: [null, null] });
    });

    it(`replaces nesting deeper than ${MAX_REDACT_DEPTH} levels with ${TOO_DEEP}`, () => {
      let deep: unknown = 'leaf';
      for (let i = 0; i < 300; i++) deep = { d: deep };
      let node = redact(deep);
      let levels = 0;
      while (typeof node === 'object' && node !== null) {
        node = (node as { d: unknown }).d;
        levels++;
      }
      assert.equal(node, TOO_DEEP);
      assert.equal(levels, MAX_REDACT_DEPTH);
    });

    it(`keeps ${MAX_REDACT_DEPTH} levels of nesting whole`, () => {
      let deep: unknown = 'leaf';
      for (let i = 0; i < MAX_REDACT_DEPTH; i++) deep = [deep];
      assert.deepEqual(redact(deep), deep);
    });
  });
});

describe('mightNeedRedaction', () => {
  const secrets = [OPENAI, OPENAI_PROJECT, ANTHROPIC, JWT, AWS_KEY, AWS_SESSION_KEY, GITHUB_CLASSIC, GITHUB_OAUTH, GITHUB_FINE, SLACK, PEM, 'Bearer abcdef123456'];
  const names = ['password', 'Passwd', 'pwd', 'secret', 'token', 'access_token', 'refreshToken', 'ID-TOKEN', 'api key', 'apiKey', 'API_KEY', 'authorization', 'auth', 'cookie', 'Set-Cookie', 'private_key', 'clientSecret', 'session_token', 'credentials', 'dbPassword', 'github-token', 'x_api_key', 'a_p_i_key', 'to\tken', 'api\nkey', 'pass\u00a0word', 'client\u2028secret', 'to\u000bken', 'to\u212Aen'];

  it('says "look closer" for every value the rules redact', () => {
    for (const secret of secrets) {
      const text = json({ note: `see ${secret} here` });
      assert.notEqual(redactString(`see ${secret} here`), `see ${secret} here`, `${secret.slice(0, 12)} is a secret`);
      assert.equal(mightNeedRedaction(text), true, secret.slice(0, 12));
    }
  });

  it('says "look closer" for every field name the rules redact', () => {
    for (const name of names) {
      assert.equal(isSecretFieldName(name), true, `${name} is a secret field`);
      assert.equal(mightNeedRedaction(json({ [name]: 'x' })), true, name);
    }
  });

  it('lets ordinary data through, so the common case skips the copy', () => {
    for (const value of [{ name: 'weather', days: 3 }, ['task list', 'skeleton', 'a risk'], { messages: [{ role: 'user', content: 'hello' }] }]) {
      const text = json(value);
      assert.equal(mightNeedRedaction(text), false, text);
      assert.equal(json(redact(value)), text);
    }
  });
});

describe('redact: names split into words, keys, and embedded or encoded secrets', () => {
  // Assembled at run time, as above.
  const PLAIN = 'plain-' + 'unguessable-0f9e8d';
  const STRIPE = 'sk_' + 'live_' + '51HxYzAbCdEfGhIjKlMnOpQr';
  const GOOGLE = 'AIza' + 'SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q';
  const BASIC = Buffer.from('admin:' + 'hunter2-basic').toString('base64');
  const PGP = '-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF0example\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----';
  const SSH2 = '---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: "rsa-key"\nP2/56wAAAexample\n---- END SSH2 ENCRYPTED PRIVATE KEY ----';
  const OPENSSH = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';

  describe('field names', () => {
    const secretNames = [
      'aws_secret_access_key',
      'AWS_SECRET_ACCESS_KEY',
      'secret_key',
      'secretKey',
      'passphrase',
      'ssh_key',
      'sshKey',
      'encryption_key',
      'signingKey',
      'SIGNINGKEY',
      'apiKeys',
      'APIKeys',
      'api.key',
      'accessTokens',
      'refresh_tokens',
      'privateKeys',
      'master-key',
      'hmacKey',
      'passwords',
      'secrets',
      'googleCredential',
      'cookies',
    ];
    for (const name of secretNames) {
      it(`redacts the value of \`${name}\`, and the pre-filter looks closer`, () => {
        assert.deepEqual(redact({ [name]: PLAIN, other: 'kept' }), { [name]: REDACTED, other: 'kept' });
        assert.equal(isSecretFieldName(name), true);
        assert.equal(mightNeedRedaction(json({ [name]: PLAIN })), true);
      });
    }

    // Words that only look like secrets: an LLM usage record, ordinary keys, and words holding `key`.
    const ordinaryNames = [
      'tokens',
      'maxTokens',
      'max_tokens',
      'input_tokens',
      'outputTokens',
      'completionTokens',
      'paidTokens',
      'tokenCount',
      'tokenizer',
      'key',
      'keys',
      'cacheKey',
      'sortKey',
      'primaryKey',
      'publicKey',
      'public_keys',
      'idempotencyKey',
      'keyboard',
      'monkey',
      'turkey',
      'keynote',
      'accessKeyId',
      'passwordHint',
    ];
    for (const name of ordinaryNames) {
      it(`keeps the value of \`${name}\``, () => {
        assert.equal(isSecretFieldName(name), false);
        assert.deepEqual(redact({ [name]: 123 }), { [name]: 123 });
      });
    }

    it('keeps an LLM usage record whole', () => {
      const usage = { model: 'gpt', usage: { tokens: 123, prompt_tokens: 100, completion_tokens: 23 }, maxTokens: 1024, keys: ['a', 'b'] };
      assert.deepEqual(redact(usage), usage);
    });
  });

  describe('key and value', () => {
    it('redacts the value of a hook action whose key names a secret, like the state write it causes', () => {
      const result = { actions: [{ type: 'set', scope: 'agent:a1', key: 'apiKey', value: PLAIN }, { type: 'set', scope: 'agent:a1', key: 'topic', value: 'kept' }] };
      assert.deepEqual(redact(result), {
        actions: [{ type: 'set', scope: 'agent:a1', key: 'apiKey', value: REDACTED }, { type: 'set', scope: 'agent:a1', key: 'topic', value: 'kept' }],
      });
    });

    for (const key of ['password/admin', 'secrets/openai', 'token/github', 'config.apiKey', 'vault:ssh_key', 'user/passphrase/old']) {
      it(`redacts the value under the state key \`${key}\`, by its segments`, () => {
        assert.deepEqual(redact({ kind: 'state.set', key, value: { v: PLAIN } }), { kind: 'state.set', key, value: REDACTED });
        assert.equal(mightNeedRedaction(json({ key, value: PLAIN })), true);
      });
    }

    for (const key of ['topic', 'keyboard/layout', 'tokens', 'usage/maxTokens', 'notes/keys']) {
      it(`keeps the value under the state key \`${key}\``, () => {
        assert.deepEqual(redact({ key, value: { v: 1 } }), { key, value: { v: 1 } });
      });
    }

    it('applies at any depth, and keeps the key itself', () => {
      assert.deepEqual(redact({ output: [{ key: 'password', value: PLAIN }] }), { output: [{ key: 'password', value: REDACTED }] });
    });
  });

  describe('embedded and encoded patterns', () => {
    const cases: [string, string, string][] = [
      ['a JWT after `_`', `id_token_${JWT}`, `id_token_${REDACTED}`],
      ['a URL-encoded Bearer header', `Authorization%3A%20Bearer%20${JWT}`, `Authorization%3A%20Bearer%20${REDACTED}`],
      ['a URL-encoded Bearer header with an opaque token', 'Authorization%3A%20Bearer%20abc123def456%3D%3D&x=1', `Authorization%3A%20Bearer%20${REDACTED}&x=1`],
      ['a key after `%20`', `q=use%20${OPENAI}`, `q=use%20${REDACTED}`],
      ['a JWT after `%20`', `x%20${JWT}`, `x%20${REDACTED}`],
      ['a GitHub token after `%20`', `q%20${GITHUB_CLASSIC}`, `q%20${REDACTED}`],
      ['a Slack token after `%3D`', `token%3D${SLACK}`, `token%3D${REDACTED}`],
      ['an AWS key id after `%20`', `id%20${AWS_KEY}`, `id%20${REDACTED}`],
      ['a Stripe key after `%20`', `k%20${STRIPE}`, `k%20${REDACTED}`],
      ['a URL password', 'https://admin:' + 'hunter2-url@db.example.com/x', `https://admin:${REDACTED}@db.example.com/x`],
      ['a URL password without a user', 'redis://:' + 'hunter2-url@cache:6379', `redis://:${REDACTED}@cache:6379`],
      ['a Basic credential', `Authorization: Basic ${BASIC}`, `Authorization: Basic ${REDACTED}`],
      ['a Basic credential whose password is not ASCII', `Basic ${Buffer.from('admin:' + 'pässwörd-S3cret').toString('base64')}`, `Basic ${REDACTED}`],
      ['a URL-encoded Basic credential', `Basic%20${BASIC.replace(/=/g, '%3D')}`, `Basic%20${REDACTED}`],
      ['a Stripe key', `stripe ${STRIPE}.`, `stripe ${REDACTED}.`],
      ['a Stripe key after `_`', `STRIPE_${STRIPE}`, `STRIPE_${REDACTED}`],
      ['a Google API key', `key=${GOOGLE}&q=1`, `key=${REDACTED}&q=1`],
      ['a PGP private key block', `k:\n${PGP}\nend`, `k:\n${REDACTED}\nend`],
      ['an SSH2 private key block', `k:\n${SSH2}\nend`, `k:\n${REDACTED}\nend`],
      ['an OpenSSH private key block', `k:\n${OPENSSH}\nend`, `k:\n${REDACTED}\nend`],
    ];
    for (const [what, text, expected] of cases) {
      it(`replaces ${what}`, () => {
        assert.equal(redact(text), expected);
        assert.equal(mightNeedRedaction(json({ note: text })), true);
      });
    }

    const kept = [
      'a basic understanding of the Basic Instructions',
      'Basic auth is off',
      'https://user@example.com/path',
      'https://example.com/a:b@c',
      'mailto:ann@example.com',
      'sk_live_short',
      'AIza is not a key',
      '-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQINBF\n-----END PGP PUBLIC KEY BLOCK-----',
      'my_eyJ_variable',
      'task_sk-short',
    ];
    for (const text of kept) {
      it(`keeps ${JSON.stringify(text)}`, () => {
        assert.equal(redact(text), text);
      });
    }

    it('scans long hostile strings in linear time', () => {
      const hostile = [
        'eyJ_'.repeat(200_000),
        '_eyJa.'.repeat(100_000),
        '%20sk-'.repeat(100_000),
        '%20eyJa'.repeat(100_000),
        'sk_live_'.repeat(100_000),
        'AIza'.repeat(200_000),
        '://a:'.repeat(100_000),
        'https://a:' + 'b:'.repeat(200_000),
        'basic '.repeat(100_000),
        'Basic%20'.repeat(100_000),
        'bearer%20'.repeat(100_000),
        '-----BEGIN PGP PRIVATE KEY BLOCK-----' + '-'.repeat(300_000),
        '---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----' + '-'.repeat(300_000),
      ];
      const started = performance.now();
      for (const text of hostile) redact(text);
      assert.ok(performance.now() - started < 3000, 'hostile strings take well under a second each');
    });
  });
});

describe('where a hook’s paths apply', () => {
  const PLAIN = 'plain-' + 'card-4111';

  it('to each input event, each action and the result of an execution, and to correlation ids', () => {
    const execution = {
      executionId: 'e1',
      correlationId: JWT,
      correlationIds: [JWT, 'other'],
      input: [{ key: 'k', value: { card: PLAIN, n: 1 } }, { key: 'k', value: { card: PLAIN } }],
      result: { actions: [{ type: 'set', key: 'copy', value: { card: PLAIN } }], output: { value: { card: PLAIN } } },
      error: { code: 'HOOK_FAILED', message: `refused ${OPENAI}` },
    };
    const shown = redactExecution(execution, ['value.card']);
    assert.deepEqual(shown, {
      executionId: 'e1',
      correlationId: REDACTED,
      correlationIds: [REDACTED, 'other'],
      input: [{ key: 'k', value: { card: REDACTED, n: 1 } }, { key: 'k', value: { card: REDACTED } }],
      // A path names a field of an event: the result's own `value.card` would be hidden, not a copy in `output`.
      result: { actions: [{ type: 'set', key: 'copy', value: { card: REDACTED } }], output: { value: { card: PLAIN } } },
      error: { code: 'HOOK_FAILED', message: `refused ${REDACTED}` },
    });
  });

  it('to each event of a dead letter', () => {
    const letter = { hookName: 'h', events: [{ id: '1.0', key: 'k', value: { card: PLAIN } }], error: { code: 'HOOK_FAILED', message: `x ${JWT}` } };
    assert.deepEqual(redactDeadLetter(letter, ['value.card']), {
      hookName: 'h',
      events: [{ id: '1.0', key: 'k', value: { card: REDACTED } }],
      error: { code: 'HOOK_FAILED', message: `x ${REDACTED}` },
    });
  });

  it('an index path applies to each event, not to the array of them', () => {
    assert.deepEqual(redactDeadLetter({ events: [{ list: [PLAIN, 'b'] }, { list: [PLAIN] }] }, ['list[0]']), { events: [{ list: [REDACTED, 'b'] }, { list: [REDACTED] }] });
  });
});

describe('redactError', () => {
  it('returns a copy with the message and stack redacted, keeping the name', () => {
    const error = new TypeError(`cannot load: OPENAI_API_KEY=${OPENAI}`);
    const shown = redactError(error) as Error;
    assert.notEqual(shown, error);
    assert.equal(shown.name, 'TypeError');
    assert.equal(shown.message, `cannot load: OPENAI_API_KEY=${REDACTED}`);
    assert.ok(!shown.stack!.includes(OPENAI));
    assert.equal(error.message.includes(OPENAI), true, 'the original is not changed');
  });

  it('returns the error itself when nothing in it is secret', () => {
    const error = new Error('plain');
    assert.equal(redactError(error), error);
  });
});

describe('redactView', () => {
  it('returns the value itself when nothing in it can need redacting, so a deep value stays whole', () => {
    let deep: unknown = 'bottom';
    for (let level = 0; level < MAX_REDACT_DEPTH + 50; level++) deep = { next: deep };
    assert.equal(redactView(deep), deep);
  });

  it('copies and redacts when something may, or when paths are given', () => {
    const value = { note: `key ${OPENAI}`, card: '4111' };
    assert.deepEqual(redactView(value), { note: `key ${REDACTED}`, card: '4111' });
    assert.deepEqual(redactView({ card: '4111' }, ['card']), { card: REDACTED });
  });
});
