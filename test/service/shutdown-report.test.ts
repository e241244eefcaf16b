import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IDS_PER_LINE, shutdownReport, type ShutdownFacts } from '../../src/service/index.js';

const ids = (n: number, prefix = 'inv_'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

function facts(overrides: Partial<ShutdownFacts>): ShutdownFacts {
  return {
    tookMs: 1234,
    undelivered: 0,
    handedOff: [],
    leftInJournal: [],
    deadLettered: 0,
    lost: 0,
    journal: true,
    volume: 'ephemeral',
    journalDir: '/data/p/journal',
    deadLetterPath: '/data/p/dead-letter.jsonl',
    ...overrides,
  };
}

/** Every invoice id the report names in lines with `msg` matching. */
function named(lines: ReturnType<typeof shutdownReport>, msg: RegExp): string[] {
  return lines.filter((l) => msg.test(l.msg)).flatMap((l) => (l.fields.invoiceIds as string[] | undefined) ?? []);
}

describe('shutdown report', () => {
  test('nothing left: one line, drained', () => {
    const lines = shutdownReport(facts({}));
    assert.equal(lines.length, 1);
    assert.match(lines[0]?.msg ?? '', /^drained/);
  });

  test('ephemeral volume: names every id left, in bounded lines, calls them lost, promises no next start', () => {
    const left = ids(250);
    const lines = shutdownReport(facts({ undelivered: 250, leftInJournal: left, volume: 'ephemeral' }));
    const text = lines.map((l) => l.msg).join('\n');
    assert.deepEqual(named(lines, /left in the journal/), left, 'every id, in order');
    const idLines = lines.filter((l) => Array.isArray(l.fields.invoiceIds));
    assert.equal(idLines.length, 3);
    for (const l of idLines) assert.ok((l.fields.invoiceIds as string[]).length <= IDS_PER_LINE);
    assert.deepEqual(
      idLines.map((l) => [l.fields.part, l.fields.parts]),
      [
        [1, 3],
        [2, 3],
        [3, 3],
      ],
    );
    assert.match(text, /LOST when the pod is deleted with its volume/);
    assert.doesNotMatch(text, /next start|sent when a pod starts/);
    assert.ok(lines.every((l) => l.level === 'error'));
  });

  test('persistent volume: the same ids, and only then the promise of a send when a pod starts with the volume', () => {
    const left = ids(3);
    const lines = shutdownReport(facts({ undelivered: 3, leftInJournal: left, volume: 'persistent' }));
    assert.deepEqual(named(lines, /left in the journal/), left);
    assert.match(
      lines[0]?.msg ?? '',
      /stay in the journal on a persistent volume; sent when a pod starts with this volume/,
    );
    assert.doesNotMatch(lines.map((l) => l.msg).join('\n'), /LOST/);
  });

  test('unknown volume: no promise either way beyond the directory', () => {
    const lines = shutdownReport(facts({ undelivered: 1, leftInJournal: ['inv_1'], volume: 'unknown' }));
    const text = lines.map((l) => l.msg).join('\n');
    assert.match(text, /only if the service starts again on this directory, and are lost if it is deleted/);
    assert.doesNotMatch(text, /next start|persistent/);
  });

  test('all handed off: the handed-off ids are named, and nothing is said to be left', () => {
    const handed = ids(120, 'h_');
    const lines = shutdownReport(facts({ undelivered: 120, handedOff: handed }));
    assert.deepEqual(named(lines, /handed to a Ready peer/), handed);
    assert.deepEqual(named(lines, /left in the journal/), []);
    assert.ok(lines.some((l) => /none left here/.test(l.msg)));
    assert.ok(lines.every((l) => l.level === 'info'));
  });

  test('partly handed off: the rest is named as left, with why the hand-off stopped', () => {
    const lines = shutdownReport(
      facts({
        undelivered: 5,
        handedOff: ['a', 'b'],
        leftInJournal: ['c', 'd', 'e'],
        handoffProblem: 'peer answered 401',
      }),
    );
    assert.deepEqual(named(lines, /left in the journal/), ['c', 'd', 'e']);
    assert.equal(lines.find((l) => l.fields.left === 3)?.fields.handoffProblem, 'peer answered 401');
  });

  test('journal off: the dead-letter file on an ephemeral volume is called lost with it; never a next start', () => {
    const lines = shutdownReport(facts({ journal: false, undelivered: 4, deadLettered: 4, volume: 'ephemeral' }));
    assert.equal(lines.length, 1);
    assert.match(lines[0]?.msg ?? '', /dead-letter file on an ephemeral volume: they are LOST when the pod is deleted/);
    assert.doesNotMatch(lines[0]?.msg ?? '', /next start/);
  });

  test('the journal could not be read back: the count is still reported, with the volume’s fate', () => {
    const lines = shutdownReport(facts({ undelivered: 9, handoffProblem: 'EIO', volume: 'persistent' }));
    assert.equal(lines[0]?.fields.left, 9);
    assert.match(lines[0]?.msg ?? '', /could not be read back/);
  });
});
