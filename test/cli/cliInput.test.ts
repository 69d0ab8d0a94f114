import assert from 'node:assert/strict';
import { LlmStateError } from '../../src/errors.js';
import { firstInvalidUtf8, rawArguments } from '../../src/cli/rawArguments.js';
import { readStdin } from '../../src/cli/stateCommands.js';

describe('CLI input', () => {
  describe('readStdin', () => {
    /** An endless input of 1 KiB chunks that counts how many were taken and whether it was closed. */
    function endless(): { input: AsyncGenerator<Buffer>; pulled: () => number; closed: () => boolean } {
      let pulled = 0;
      let closed = false;
      async function* generate(): AsyncGenerator<Buffer> {
        try {
          for (;;) {
            pulled++;
            yield Buffer.alloc(1024, 0x20);
          }
        } finally {
          closed = true;
        }
      }
      return { input: generate(), pulled: () => pulled, closed: () => closed };
    }

    it('stops at the first chunk past the limit with VALUE_TOO_LARGE, and closes the input', async () => {
      const source = endless();
      await assert.rejects(readStdin(source.input, 10 * 1024), (error: unknown) => {
        assert.ok(error instanceof LlmStateError && error.code === 'VALUE_TOO_LARGE', String(error));
        assert.deepEqual(error.details, { limit: 10 * 1024, source: 'stdin' });
        return true;
      });
      assert.equal(source.pulled(), 11, 'nothing is read after the chunk that went past the limit');
      assert.ok(source.closed(), 'the input is closed');
    });

    it('takes input of exactly the limit, as UTF-8 text', async () => {
      async function* input(): AsyncGenerator<Buffer> {
        yield Buffer.from('"caf');
        yield Buffer.from([0xc3]);
        yield Buffer.from([0xa9, 0x22]);
      }
      assert.equal(await readStdin(input(), 7), '"café"');
    });

    it('refuses input that is not UTF-8 with VALUE_INVALID', async () => {
      async function* input(): AsyncGenerator<Buffer> {
        yield Buffer.from([0x22, 0xc3, 0x22]);
      }
      await assert.rejects(readStdin(input(), 100), (error: unknown) => error instanceof LlmStateError && error.code === 'VALUE_INVALID');
    });
  });

  describe('rawArguments', () => {
    const cmdline = (...parts: (string | Buffer)[]) => Buffer.concat(parts.flatMap((part) => [Buffer.from(part), Buffer.from([0])]));

    it("are the last entries of the command line, after node's own options", () => {
      const raw = rawArguments(['/usr/bin/node', '/x/main.js', 'get', 'a\uFFFDb'], () => cmdline('node', '--import', 'tsx', '/x/main.js', 'get', Buffer.from([0x61, 0xff, 0x62])));
      assert.deepEqual(raw, [Buffer.from('get'), Buffer.from([0x61, 0xff, 0x62])]);
      assert.equal(firstInvalidUtf8(raw ?? []), 2);
    });

    it('a U+FFFD that was typed is valid UTF-8', () => {
      const raw = rawArguments(['node', 'main.js', 'a\uFFFDb'], () => cmdline('node', 'main.js', 'a\uFFFDb'));
      assert.equal(firstInvalidUtf8(raw ?? [Buffer.from([0xff])]), 0);
    });

    it('are unknown when the command line cannot be read, or does not match argv', () => {
      assert.equal(rawArguments(['node', 'main.js', 'x'], () => { throw new Error('ENOENT'); }), undefined);
      assert.equal(rawArguments(['node', 'main.js', 'x'], () => cmdline('node', 'main.js', 'y')), undefined);
      assert.equal(rawArguments(['node', 'main.js', 'x', 'y'], () => cmdline('x')), undefined);
    });
  });
});
