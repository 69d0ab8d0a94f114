import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setup } from 'xstate';
import { collectAgentDetails } from '../../src/cli/agentCommands.js';
import { createRuntime, Scope, type Runtime } from '../../src/index.js';
import { decodeDeadLetter } from '../../src/hooks/outboxRecords.js';
import { storageOf } from '../../src/runtime.js';
import { chatMachine } from '../fixtures/chatMachine.js';
import { rejection } from '../helpers.js';

const PLANTED = new URL('../fixtures/hooks/planted.mjs', import.meta.url);
const THROWS_AT_IMPORT = new URL('../fixtures/hooks/throwsAtImport.mjs', import.meta.url);
const FORMATS = ['text', 'mermaid', 'json', 'html'] as const;

// Fake secrets are assembled at run time so that secret scanners do not flag this file.
const JWT = 'eyJhbGciOiJIUzI1NiJ9' + '.' + 'eyJzdWIiOiJzdXJmYWNlcyJ9' + '.' + 'c2lnbmF0dXJlLW9mLXRoZS10ZXN0';
const OPENAI = 'sk-' + 'surfaceS3cr3tKeyForTheTests0123';
const plain = (name: string) => `plain-${name}-` + '7c1e55';

describe('redaction on every surface that records or shows', () => {
  let rt: Runtime;

  beforeEach(async () => {
    rt = await createRuntime({ memory: true, hooks: { threads: 1 } });
  });
  afterEach(() => rt.close());

  function register(name: string, extra: Record<string, unknown> = {}) {
    return rt.hooks.register({ name, module: PLANTED, on: ['state.set'], backoff: { initialMs: 1, maxMs: 2 }, ...extra });
  }

  /** Everything the public API shows of the runtime's hook work and of one story. */
  async function shown(correlationId: string): Promise<Record<string, string>> {
    const history = await rt.hooks.history({ limit: 1000 });
    const views: Record<string, string> = {
      history: JSON.stringify(history),
      executions: JSON.stringify(await Promise.all(history.map((execution) => rt.hooks.execution(execution.executionId)))),
      deadLetters: JSON.stringify(await rt.hooks.deadLetters()),
      timeline: JSON.stringify(await rt.events.timeline(correlationId)),
    };
    for (const format of FORMATS) views[format] = await rt.events.exportTimeline(correlationId, format);
    return views;
  }

  function assertNowhere(views: Record<string, string>, secrets: Record<string, string>): void {
    for (const [view, text] of Object.entries(views)) {
      for (const [what, secret] of Object.entries(secrets)) assert.ok(!text.includes(secret), `${what} shows in ${view}`);
    }
  }

  it('a hook action’s value is redacted like the write it causes: history, execution, replay and timeline', async () => {
    await register('acts');
    const secret = plain('action');
    const { correlationId } = await rt.correlate(() =>
      rt.state.set(Scope.agent('a1'), 'topic', { hook: { actions: [{ type: 'set', key: 'apiKey', value: secret }] } }),
    );
    await rt.hooks.idle();
    assert.equal(await rt.state.get(Scope.agent('a1'), 'apiKey'), secret, 'the state itself keeps the value');
    const [execution] = await rt.hooks.history({ hookName: 'acts', limit: 1 });
    assert.deepEqual(execution.result!.actions, [{ type: 'set', scope: 'agent:a1', key: 'apiKey', value: '[REDACTED]' }]);
    const replay = await rt.hooks.replay(execution.executionId);
    assert.equal(replay.equal, true);
    assertNowhere({ ...(await shown(correlationId)), replay: JSON.stringify(replay) }, { secret });
  });

  it('the field names of the review, by their words', async () => {
    await register('names');
    const names = ['aws_secret_access_key', 'secret_key', 'secretKey', 'passphrase', 'ssh_key', 'encryption_key', 'signingKey', 'apiKeys', 'accessTokens'];
    const secrets = Object.fromEntries(names.map((name) => [name, plain(name)]));
    const { correlationId } = await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'config', { ...secrets, usage: { tokens: 123 }, maxTokens: 9 }));
    await rt.hooks.idle();
    const [execution] = await rt.hooks.history({ hookName: 'names' });
    const input = (execution.input as { value: Record<string, unknown> }[])[0].value;
    for (const name of names) assert.equal(input[name], '[REDACTED]', name);
    assert.deepEqual([input.usage, input.maxTokens], [{ tokens: 123 }, 9], 'counts of tokens are kept');
    assertNowhere(await shown(correlationId), secrets);
  });

  it('state keys whose secret word is a `/` segment', async () => {
    await register('keys');
    const keys = ['password/admin', 'secrets/openai', 'token/github'];
    const secrets = Object.fromEntries(keys.map((key) => [key, plain(key.replace('/', '-'))]));
    const { correlationId } = await rt.correlate(async () => {
      for (const key of keys) await rt.state.set(Scope.agent('a1'), key, secrets[key]);
    });
    await rt.hooks.idle();
    for (const key of keys) assert.equal(await rt.state.get(Scope.agent('a1'), key), secrets[key]);
    assertNowhere(await shown(correlationId), secrets);
  });

  it('embedded and encoded value patterns', async () => {
    await register('patterns');
    const secrets = {
      jwtAfterUnderscore: JWT,
      bearer: 'abc123' + 'encodedBearer456',
      openai: OPENAI,
      url: 'hunter2' + '-url-password',
      stripe: 'sk_' + 'live_' + '51SurfacesAbCdEfGhIjKl',
      google: 'AIza' + 'SySurfacesA1b2C3d4E5f6G7h8I9j0K1l2M',
      basic: Buffer.from('admin:' + 'basic-password').toString('base64'),
    };
    const note = [
      `id_token_${secrets.jwtAfterUnderscore}`,
      `Authorization%3A%20Bearer%20${secrets.bearer}`,
      `q=%20${secrets.openai}`,
      `postgres://app:${secrets.url}@db:5432/x`,
      secrets.stripe,
      secrets.google,
      `Authorization: Basic ${secrets.basic}`,
    ].join(' ');
    const { correlationId } = await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'note', { note }));
    await rt.hooks.idle();
    assertNowhere(await shown(correlationId), secrets);
  });

  it('a hook’s `redact` paths hide the field on the timeline’s event nodes too', async () => {
    await register('cards', { redact: ['value.card'] });
    const card = plain('card');
    const { correlationId } = await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'order', { card, item: 'tea' }));
    await rt.hooks.idle();
    const timeline = await rt.events.timeline(correlationId);
    const [root] = timeline.roots;
    assert.equal(root.type, 'event');
    assert.deepEqual(root.type === 'event' && root.event.value, { card: '[REDACTED]', item: 'tea' });
    assertNowhere(await shown(correlationId), { card });
  });

  it('a hook’s registration options are shown redacted by register, list and get', async () => {
    const secrets = { apiKey: plain('option-key'), password: 'hunter2-' + 'webhook' };
    const options = { apiKey: secrets.apiKey, webhook: `https://bot:${secrets.password}@hooks.example.com/x`, channel: 'ops' };
    const registered = await register('notify', { options });
    const shownOptions = { apiKey: '[REDACTED]', webhook: 'https://bot:[REDACTED]@hooks.example.com/x', channel: 'ops' };
    assert.deepEqual(registered.definition.options, shownOptions);
    assert.deepEqual(rt.hooks.get('notify')?.definition.options, shownOptions);
    assertNowhere({ list: JSON.stringify(rt.hooks.list()) }, secrets);
  });

  it('a hook’s `redact` paths apply only to events that hook takes', async () => {
    await register('payments', { filter: { keyPrefix: 'payment' }, redact: ['value'] });
    const { correlationId } = await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'topic', { name: 'weather' }));
    await rt.hooks.idle();
    const [root] = (await rt.events.timeline(correlationId)).roots;
    assert.deepEqual(root.type === 'event' && root.event.value, { name: 'weather' });
  });

  it('a hook’s `redact` paths outlive its registration: its dead letters and the events it took stay redacted, also after a reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llmstate-redact-'));
    try {
      await rt.close();
      rt = await createRuntime({ dataDir: dir, hooks: { threads: 1, autoStart: false } });
      await register('cards', { redact: ['value.card'] });
      const card = plain('card');
      const { correlationId } = await rt.correlate(() => rt.state.set(Scope.agent('a1'), 'order', { card, item: 'tea' }));
      assert.equal(await rt.hooks.unregister('cards'), true);
      const [letter] = await rt.hooks.deadLetters({ hookName: 'cards' });
      assert.equal(letter.reason, 'unregistered');
      assert.deepEqual((letter.events[0] as { value: unknown }).value, { card: '[REDACTED]', item: 'tea' });
      assertNowhere(await shown(correlationId), { card });

      await rt.close();
      rt = await createRuntime({ dataDir: dir, hooks: { threads: 1 } });
      assert.deepEqual(rt.hooks.list(), [], 'an unregistered hook stays unregistered');
      assert.equal(await rt.hooks.unregister('cards'), false);
      assertNowhere(await shown(correlationId), { card });

      await register('cards');
      const [again] = await rt.hooks.deadLetters({ hookName: 'cards' });
      assert.deepEqual((again.events[0] as { value: unknown }).value, { card, item: 'tea' }, 'registered again without paths, its own paths apply');
    } finally {
      await rt.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a JWT used as a correlation id: history, execution nodes and the export header', async () => {
    await register('story');
    await rt.state.set(Scope.agent('a1'), 'topic', 1, { correlationId: JWT });
    await rt.hooks.idle();
    const [execution] = await rt.hooks.history({ correlationId: JWT });
    assert.equal(execution.correlationId, '[REDACTED]');
    assert.deepEqual(execution.correlationIds, ['[REDACTED]']);
    const text = await rt.events.exportTimeline(JWT, 'text');
    assert.match(text.split('\n')[0], /^timeline \[REDACTED\]: 1 event, 1 hook execution/);
    assertNowhere(await shown(JWT), { JWT });
  });

  it('dead letters are shown redacted, and stored with their real values for redelivery', async () => {
    await register('fails', { maxAttempts: 1, redact: ['value.card'] });
    const secrets = { sshKey: plain('ssh'), card: plain('card'), message: OPENAI };
    const { correlationId } = await rt.correlate(() =>
      rt.state.set(Scope.agent('a1'), 'job', { ssh_key: secrets.sshKey, card: secrets.card, hook: { throw: `upstream refused ${secrets.message}` } }),
    );
    await rt.hooks.idle();
    const [letter] = await rt.hooks.deadLetters({ hookName: 'fails' });
    assert.deepEqual((letter.events[0] as { value: Record<string, unknown> }).value, { ssh_key: '[REDACTED]', card: '[REDACTED]', hook: { throw: 'upstream refused [REDACTED]' } });
    assert.equal(letter.error!.message, 'upstream refused [REDACTED]');
    assertNowhere(await shown(correlationId), secrets);

    const stored: string[] = [];
    for await (const [, record] of storageOf(rt).iterate('hookDeadLetters')) stored.push(...decodeDeadLetter(record, {}).events);
    assert.ok(stored.some((event) => event.includes(secrets.sshKey) && event.includes(secrets.card)), 'the stored letter keeps the real values');
  });

  it('a failed replay, and a what-if replay, record and show their input redacted', async () => {
    await register('replays', { redact: ['value.card'] });
    await rt.state.set(Scope.agent('a1'), 'k', { n: 1 });
    await rt.hooks.idle();
    const [original] = await rt.hooks.history({ hookName: 'replays' });
    const secrets = { card: plain('card'), key: plain('key'), message: JWT };
    const whatIf = await rt.hooks.replay(original.executionId, { patch: { value: { card: secrets.card, ssh_key: secrets.key } } });
    const failed = await rt.hooks.replay(original.executionId, { patch: { value: { card: secrets.card, hook: { throw: `bad id_token_${secrets.message}` } } } });
    assert.equal(failed.replayed.status, 'failed');
    const views = await shown(original.correlationId);
    assertNowhere({ ...views, whatIf: JSON.stringify(whatIf), failed: JSON.stringify(failed) }, secrets);
  });

  it('agent dead letters are shown redacted', async () => {
    const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine: chatMachine() });
    const secrets = { key: plain('agent-key'), text: OPENAI };
    rt.faults.crashActor('a1');
    await rejection(rt.correlate(() => agent.send({ type: 'SAY', text: `use ${secrets.text}`, apiKey: secrets.key }), JWT));
    for (const letters of [await rt.supervisors.deadLetters({ agentId: 'a1' }), await rt.agents.deadLetters({ agentId: 'a1' })]) {
      assert.equal(letters.length, 1);
      assert.deepEqual(letters[0].event, { type: 'SAY', text: 'use [REDACTED]', apiKey: '[REDACTED]' });
      assertNowhere({ letters: JSON.stringify(letters) }, { ...secrets, JWT });
    }
  });

  it('the events `llmstate agents show` prints are redacted like its dead letters', async () => {
    const machine = setup({ types: { events: {} as { type: 'SAY'; text: string } } }).createMachine({
      on: {
        SAY: {
          actions: ({ event }) => {
            throw new Error(`upstream refused ${event.text}`);
          },
        },
      },
    });
    const agent = await rt.agents.spawn({ id: 'a1', type: 'chat', machine });
    await rejection(agent.send({ type: 'SAY', text: OPENAI }));
    const details = await collectAgentDetails(rt, 'a1', 100);
    const crashed = details.events.find((event) => event.kind === 'agent.crashed');
    assert.deepEqual((crashed?.data as { error?: unknown } | undefined)?.error, 'upstream refused [REDACTED]');
    assertNowhere({ details: JSON.stringify(details) }, { OPENAI });
    assert.ok(JSON.stringify(await rt.events.query({ agentId: 'a1' })).includes(OPENAI), 'the event log keeps the real values');
  });

  it('a module that throws at import with a key in its message: the HOOK_FAILED error and its cause', async () => {
    const error = await rejection(rt.hooks.register({ name: 'broken', module: THROWS_AT_IMPORT, on: ['state.set'] }));
    assert.equal(error.code, 'HOOK_FAILED');
    assert.match(error.message, /OPENAI_API_KEY=\[REDACTED\]/);
    const cause = error.cause as Error;
    assert.ok(cause instanceof Error);
    for (const text of [error.message, cause.message, String(cause.stack)]) assert.ok(!text.includes('sk-'), text);
  });
});
