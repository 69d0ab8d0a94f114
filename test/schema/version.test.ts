import assert from 'node:assert/strict';
import {
  MAX_SCHEMA_NAME_LENGTH,
  checkSchemaName,
  checkVersion,
  compareVersions,
  isVersion,
  parseSchemaRef,
  schemaRef,
} from '../../src/schema/version.js';

describe('schema versions', () => {
  describe('checkVersion', () => {
    it('accepts MAJOR.MINOR.PATCH with zeros and large parts', () => {
      for (const version of ['0.0.0', '1.0.0', '1.2.3', '10.20.30', '0.0.9007199254740991']) {
        assert.doesNotThrow(() => checkVersion(version), version);
        assert.equal(isVersion(version), true, version);
      }
    });

    it('refuses anything else with a TypeError that names the argument and shows the value', () => {
      const refused = ['1', '1.0', '1.0.0.0', '01.0.0', '1.00.0', '1.0.01', 'v1.0.0', '1.0.0-beta', '1.0.0+build', ' 1.0.0', '1.0.0 ', '', '1..0', '-1.0.0', '1.0.x'];
      for (const version of refused) {
        assert.throws(
          () => checkVersion(version, 'from'),
          (err: Error) => err instanceof TypeError && err.message.startsWith('Expected `from` to be a version `MAJOR.MINOR.PATCH`') && err.message.includes(JSON.stringify(version)),
          version,
        );
        assert.equal(isVersion(version), false, version);
      }
    });

    it('refuses a part beyond Number.MAX_SAFE_INTEGER, so that versions compare as numbers', () => {
      assert.throws(() => checkVersion('0.0.9007199254740992'), TypeError);
      assert.throws(() => checkVersion('12345678901234567.0.0'), TypeError);
    });

    it('refuses what is not a string, naming its type', () => {
      assert.throws(() => checkVersion(1), { name: 'TypeError', message: /got `1` \(number\)$/ });
      assert.throws(() => checkVersion(undefined), { name: 'TypeError', message: /^Expected `version` .* got `undefined` \(undefined\)$/ });
    });
  });

  describe('compareVersions', () => {
    it('orders by major, then minor, then patch, as numbers rather than text', () => {
      assert.ok(compareVersions('1.10.0', '1.2.0') > 0);
      assert.ok(compareVersions('1.2.0', '1.10.0') < 0);
      assert.ok(compareVersions('2.0.0', '1.99.99') > 0);
      assert.ok(compareVersions('1.0.9', '1.0.10') < 0);
      assert.equal(compareVersions('3.1.4', '3.1.4'), 0);
      assert.deepEqual(['1.10.0', '1.2.0', '0.9.0', '1.2.10', '1.2.9'].sort(compareVersions), ['0.9.0', '1.2.0', '1.2.9', '1.2.10', '1.10.0']);
    });

    it('refuses a version that is not one, naming which argument', () => {
      assert.throws(() => compareVersions('1.0', '1.0.0'), { name: 'TypeError', message: /^Expected `a` to be a version/ });
      assert.throws(() => compareVersions('1.0.0', 'x'), { name: 'TypeError', message: /^Expected `b` to be a version/ });
    });
  });

  describe('checkSchemaName', () => {
    it('accepts letters, digits, dot, underscore and hyphen, starting with a letter, up to 64 characters', () => {
      for (const name of ['profile', 'a', 'Profile_v2', 'user.profile', 'agent-memory', 'x'.repeat(MAX_SCHEMA_NAME_LENGTH)]) {
        assert.doesNotThrow(() => checkSchemaName(name), name);
      }
    });

    it('refuses other names with a TypeError that names the argument', () => {
      for (const name of ['', '9lives', '_x', '.x', 'a@b', 'a b', 'é', 'a/b', 'x'.repeat(MAX_SCHEMA_NAME_LENGTH + 1), 'a\nb']) {
        assert.throws(() => checkSchemaName(name, 'schema'), { name: 'TypeError', message: /^Expected `schema` to be a schema name: 1 to 64/ }, name);
      }
      assert.throws(() => checkSchemaName(null), { name: 'TypeError', message: /^Expected `name` to be a schema name.*got `null`$/ });
    });

    it('escapes a control character in the value a message shows', () => {
      assert.throws(() => checkSchemaName('a\u001b[2Jb'), (err: Error) => !err.message.includes('\u001b') && err.message.includes('\\u001b'));
    });
  });

  describe('schema references', () => {
    it('schemaRef and parseSchemaRef are inverse', () => {
      assert.equal(schemaRef('profile', '1.0.0'), 'profile@1.0.0');
      assert.deepEqual(parseSchemaRef('profile@1.0.0'), { name: 'profile', version: '1.0.0' });
      assert.deepEqual(parseSchemaRef(schemaRef('a.b-c_d', '10.0.3')), { name: 'a.b-c_d', version: '10.0.3' });
    });

    it('parseSchemaRef refuses a bad reference, saying which part is wrong', () => {
      assert.throws(() => parseSchemaRef('profile'), { name: 'TypeError', message: /^Expected `ref` to be a schema reference `name@version` like `profile@1\.0\.0`, got `"profile"` \(string\)$/ });
      assert.throws(() => parseSchemaRef('profile@1.0', 'a'), { name: 'TypeError', message: /^Expected `a` .*: the version must be a version/ });
      assert.throws(() => parseSchemaRef('9p@1.0.0'), { name: 'TypeError', message: /: the name must be a schema name/ });
      assert.throws(() => parseSchemaRef('@1.0.0'), { name: 'TypeError', message: /: the name must be/ });
      assert.throws(() => parseSchemaRef('a@b@1.0.0'), { name: 'TypeError', message: /: the version must be/ });
      assert.throws(() => parseSchemaRef(42 as unknown as string), { name: 'TypeError', message: /got `42` \(number\)$/ });
    });

    it('schemaRef refuses a bad name or version', () => {
      assert.throws(() => schemaRef('a@b', '1.0.0'), { name: 'TypeError', message: /^Expected `name`/ });
      assert.throws(() => schemaRef('profile', '1'), { name: 'TypeError', message: /^Expected `version`/ });
    });
  });
});
