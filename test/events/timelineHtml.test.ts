import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildTimeline } from '../../src/events/timeline.js';
import { renderTimeline } from '../../src/events/timelineExport.js';
import { T0, event, execution, storyEvents, storyExecutions } from './timelineFixture.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const HOSTILE = '<script>window.pwned = true</script>';

describe('timeline HTML in a browser', function () {
  let browser: Browser | undefined;
  let page: Page;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.log(`  (skipped: ${CHROMIUM} is not installed; .ci/run installs it)`);
      this.skip();
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ javaScriptEnabled: true });
    const events = [...storyEvents(), event('3.0', { at: T0 + 40, key: 'note', value: { text: HOSTILE } })];
    const executions = [...storyExecutions(), execution('x0004', { hookName: 'slow', eventIds: ['3.0'], startedAt: T0 + 41, status: 'timed_out' })];
    await page.setContent(renderTimeline(buildTimeline('corr-42', events, executions), 'html'));
  });

  after(async () => {
    await browser?.close();
  });

  it('shows the correlation id in the title and heading, and the summary', async () => {
    assert.equal(await page.title(), 'Timeline corr-42');
    assert.equal(await page.locator('h1').innerText(), 'Timeline corr-42');
    assert.match(await page.locator('.summary').innerText(), /^4 events, 4 hook executions, from 2024-01-02T03:04:05\.006Z to /);
  });

  it('shows every node with its kind or hook name', async () => {
    const lines = await page.locator('li > .line').allInnerTexts();
    assert.equal(lines.length, 8);
    const text = await page.innerText('body');
    for (const expected of ['state.set', 'agent:a1', 'topic', 'agent.spawned', 'hook summarise', 'hook notify', 'hook index', 'hook slow', '03:04:05.006']) {
      assert.ok(text.includes(expected), `the page shows ${expected}`);
    }
  });

  it('nests the action write inside the execution that wrote it, inside the triggering write', async () => {
    const write = page.locator('li[data-id="1.0"]');
    const hook = write.locator('li[data-id="x0001"]');
    const action = hook.locator('li[data-id="2.0"]');
    assert.equal(await action.count(), 1);
    assert.match(await action.locator('> .line').innerText(), /state\.set\s+agent:a1\s+summary/);
    assert.equal(await action.locator('li[data-id="x0002"]').count(), 1, 'the failed hook on the action write is nested under it');
    assert.equal(await page.locator('ul.tree > li').count(), 3, 'three roots');
  });

  it('shows values as JSON and marks failures in words', async () => {
    assert.match(await page.locator('li[data-id="1.0"] > pre.value').innerText(), /"name": "weather"/);
    assert.match(await page.locator('li[data-id="x0001"] > pre.output').innerText(), /"summary": "ok"/);
    assert.match(await page.locator('li[data-id="x0002"] > .line').innerText(), /failed/);
    assert.match(await page.locator('li[data-id="x0002"] > .error').innerText(), /HOOK_FAILED: boom/);
    assert.match(await page.locator('li[data-id="x0004"] > .line').innerText(), /timed out/);
  });

  it('shows a bidi control or an ESC in a key as a \\u escape, so that the key cannot look like another', async () => {
    assert.ok(browser !== undefined);
    const other = await browser.newPage({ javaScriptEnabled: false });
    try {
      const key = 'admin\u202etxt.exe\u2066\u001b[2J';
      await other.setContent(renderTimeline(buildTimeline('c\u202e1', [event('1.0', { key, value: { [key]: key } })], []), 'html'));
      assert.equal(await other.locator('li[data-id="1.0"] .key').innerText(), 'admin\\u202etxt.exe\\u2066\\u001b[2J');
      assert.equal(await other.locator('h1').innerText(), 'Timeline c\\u202e1');
      assert.ok((await other.locator('pre.value').innerText()).includes('"admin\\u202etxt.exe\\u2066\\u001b[2J": '));
      assert.ok(!/[\p{Cc}\p{Cf}]/u.test((await other.innerText('body')).replaceAll('\n', '').replaceAll('\t', '')));
    } finally {
      await other.close();
    }
  });

  it('shows a <script> value as text, and never runs it', async () => {
    assert.ok((await page.locator('li[data-id="3.0"] > pre.value').innerText()).includes(HOSTILE));
    assert.equal(await page.locator('script').count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as { pwned?: boolean }).pwned), undefined);
  });
});
