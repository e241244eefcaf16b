import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shutdownReport } from '../../src/service/index.js';

const context = { tookMs: 1234, journalDir: '/var/lib/journal', deadLetterPath: '/var/lib/dead-letter.jsonl' };

describe('shutdownReport', () => {
  it('a complete drain is one info line', () => {
    assert.deepEqual(shutdownReport({ left: 0, kept: 0, lost: 0 }, context), [
      { level: 'info', fields: { tookMs: 1234 }, message: 'drained: every accepted invoice reached SQS' },
    ]);
  });

  it('leftovers kept in the journal are one error line naming the journal', () => {
    const [line, ...rest] = shutdownReport({ left: 7, kept: 7, lost: 0 }, context);
    assert.deepEqual(rest, []);
    assert.equal(line?.level, 'error');
    assert.deepEqual(line?.fields, { left: 7, kept: 7, tookMs: 1234, journalDir: '/var/lib/journal' });
    assert.match(line?.message ?? '', /7 invoice\(s\) not delivered to SQS stay in the journal/);
  });

  it('leftovers without a journal are one error line naming the dead-letter file and what was lost', () => {
    const [line, ...rest] = shutdownReport({ left: 5, kept: 0, lost: 2 }, context);
    assert.deepEqual(rest, []);
    assert.equal(line?.level, 'error');
    assert.deepEqual(line?.fields, { left: 5, lost: 2, tookMs: 1234, deadLetterPath: '/var/lib/dead-letter.jsonl' });
    assert.match(line?.message ?? '', /5 invoice\(s\) not delivered to SQS were written to the dead-letter file/);
  });
});
