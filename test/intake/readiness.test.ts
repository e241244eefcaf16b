import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { excludedChecks } from '../../src/intake/index.js';

describe('/readyz ?exclude=', () => {
  it('reads one name, a comma list, or the parameter repeated', () => {
    assert.deepEqual([...excludedChecks('buffer')], ['buffer']);
    assert.deepEqual([...excludedChecks(' buffer ,')], ['buffer']);
    assert.deepEqual([...excludedChecks(['buffer', 'buffer'])], ['buffer']);
  });

  it('ignores names it does not know, and no parameter excludes nothing', () => {
    assert.deepEqual([...excludedChecks('shutdown,etcd')], []);
    assert.deepEqual([...excludedChecks(undefined)], []);
  });
});
