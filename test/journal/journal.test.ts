import assert from 'node:assert/strict';
import { appendFileSync, constants, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import pino from 'pino';
import { messageBytes } from '../../src/buffer/index.js';
import {
  InvoiceJournal,
  Journal,
  JournalError,
  RECORD_HEADER_BYTES,
  encodeRecord,
  encodeRetirements,
  pendingFromRecord,
  recordOf,
  scanRetirements,
  scanSegment,
  type JournalPosition,
  type JournalRecord,
} from '../../src/journal/index.js';
import { SYNC_ON_WRITE, closeSegmentFiles, createSegment } from '../../src/journal/segment.js';
import { spawnService, tempDir } from '../support/service.js';

const logger = pino({ level: 'silent' });

function record(i: number, body = `{"id":"inv_${i}","n":${i}}`): JournalRecord {
  return { i: `inv_${i}`, r: `req-${i}`, b: body, a: { 'invoice-id': `inv_${i}`, 'request-id': `req-${i}` } };
}

const segmentFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.log'));

describe('journal segment format', () => {
  test('records round-trip with their exact bodies, offsets and sizes', () => {
    const records = [record(1), record(2, '{"id":"inv_2","note":"é ✓ \\u0000 \\n"}'), record(3)];
    const data = Buffer.concat(records.map(encodeRecord));
    const scan = scanSegment(data);
    assert.deepEqual(
      scan.records.map((r) => r.record),
      records,
    );
    assert.equal(scan.records[0]?.offset, 0);
    assert.equal(scan.records[1]?.offset, encodeRecord(records[0] as JournalRecord).length);
    assert.equal(scan.validEnd, data.length);
    assert.deepEqual(scan.corrupt, []);
  });

  test('a record whose payload no longer matches its CRC is skipped, and the records after it are kept', () => {
    const parts = [1, 2, 3].map((i) => encodeRecord(record(i)));
    const data = Buffer.concat(parts);
    const second = (parts[0] as Buffer).length;
    const at = second + RECORD_HEADER_BYTES + 3;
    data.writeUInt8(data.readUInt8(at) ^ 0x01, at); // one bit inside the second payload
    const scan = scanSegment(data);
    assert.deepEqual(
      scan.records.map((r) => r.record.i),
      ['inv_1', 'inv_3'],
    );
    assert.deepEqual(scan.corrupt, [{ offset: second, bytes: (parts[1] as Buffer).length }]);
    assert.equal(scan.validEnd, data.length);
  });

  test('a torn last record (cut short, or garbage after the last whole one) is the torn tail', () => {
    const parts = [1, 2].map((i) => encodeRecord(record(i)));
    const whole = Buffer.concat(parts);
    const cut = whole.subarray(0, whole.length - 5);
    assert.deepEqual(
      scanSegment(cut).records.map((r) => r.record.i),
      ['inv_1'],
    );
    assert.equal(scanSegment(cut).validEnd, (parts[0] as Buffer).length);
    const garbage = Buffer.concat([whole, Buffer.from('JRN1 garbage after a crash')]);
    assert.equal(scanSegment(garbage).validEnd, whole.length);
    assert.equal(scanSegment(garbage).records.length, 2);
  });

  test('retire entries round-trip; a torn or garbled entry is ignored rather than misread', () => {
    const data = encodeRetirements([0, 77, 4096]);
    assert.deepEqual([...scanRetirements(data)], [0, 77, 4096]);
    const garbled = Buffer.from(data);
    garbled.writeUInt8(garbled.readUInt8(9) ^ 0xff, 9); // the second entry's offset
    assert.deepEqual([...scanRetirements(garbled)], [0, 4096]);
    assert.deepEqual([...scanRetirements(data.subarray(0, 13))], [0]);
  });

  test('a pending invoice survives the trip through a record: request id, attributes, FIFO ids, trace context', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const entry = pendingFromRecord(
      { ...record(5), a: { 'invoice-id': 'inv_5', 'request-id': 'req-5', traceparent }, g: 'cus_1', d: 'inv_5' },
      0,
    );
    assert.deepEqual(recordOf(entry), {
      i: 'inv_5',
      r: 'req-5',
      b: '{"id":"inv_5","n":5}',
      a: { 'invoice-id': 'inv_5', 'request-id': 'req-5', traceparent },
      g: 'cus_1',
      d: 'inv_5',
    });
    assert.equal(entry.spanContext?.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(entry.spanContext?.spanId, 'b7ad6b7169203331');
  });

  test('received-at and forwarded headers come back as written; a record of the previous version gets its segment time', () => {
    const a = {
      'invoice-id': 'inv_6',
      'request-id': 'req-6',
      'received-at': '2026-12-06T14:48:59.123Z',
      'stripe-signature': `t=1765000000,v1=${'a'.repeat(64)}`,
    };
    const segmentWrittenAtMs = Date.UTC(2026, 11, 6, 15, 0, 0, 456);
    const current = pendingFromRecord({ ...record(6), a }, 0, segmentWrittenAtMs);
    assert.deepEqual(current.attributes, a, 'the original received-at, not the segment time');
    assert.deepEqual(recordOf(current).a, a);
    const previous = pendingFromRecord(
      { ...record(7), a: { 'invoice-id': 'inv_7', 'request-id': 'req-7' } },
      0,
      segmentWrittenAtMs,
    );
    assert.deepEqual(previous.attributes, {
      'invoice-id': 'inv_7',
      'request-id': 'req-7',
      'received-at': '2026-12-06T15:00:00.456Z',
    });
    assert.equal(
      previous.bytes,
      messageBytes(previous.body, previous.attributes),
      'its SQS size counts the added attribute',
    );
  });
});

describe('Journal', () => {
  test('a segment log is opened with O_DSYNC where the platform has it, so each write is durable when it returns', async (t) => {
    if (process.platform !== 'linux') {
      // Only Linux shows an open file's flags (/proc/self/fdinfo); the suite runs on Linux (CONTRIBUTING.md).
      assert.fail(`this check reads /proc/self/fdinfo, which ${process.platform} does not have`);
    }
    assert.equal(SYNC_ON_WRITE, true, 'Linux has O_DSYNC');
    const segment = await createSegment(tempDir(), 1);
    t.after(() => closeSegmentFiles(segment));
    const fd = segment.handle?.fd as number;
    const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    assert.ok(flags !== undefined, 'fdinfo names the flags');
    assert.equal(Number.parseInt(flags, 8) & constants.O_DSYNC, constants.O_DSYNC, `flags ${flags} include O_DSYNC`);
  });

  test('concurrent appends share one fdatasync (group commit), and each resolves with its own position', async () => {
    const dir = tempDir();
    const syncs: number[] = [];
    const { journal } = await Journal.open({
      dir,
      maxBytes: 1 << 30,
      logger,
      observer: { synced: (_s, records) => syncs.push(records) },
    });
    const positions = await Promise.all(Array.from({ length: 50 }, (_, i) => journal.append(record(i))));
    await journal.close();
    assert.equal(
      syncs.reduce((a, b) => a + b, 0),
      50,
    );
    assert.ok(syncs.length < 50, `50 appends took ${syncs.length} syncs`);
    assert.equal(syncs[0], 1, 'the first append does not wait for company');
    assert.equal(new Set(positions.map((p) => `${p.segment}:${p.offset}`)).size, 50);
  });

  test('a reopened journal hands back exactly the records not retired, oldest first', async () => {
    const dir = tempDir();
    const first = await Journal.open({ dir, maxBytes: 1 << 30, logger });
    assert.deepEqual(first.recovered, []);
    const positions: JournalPosition[] = [];
    for (let i = 0; i < 10; i += 1) positions.push(await first.journal.append(record(i)));
    first.journal.retire([1, 4, 9].map((i) => positions[i] as JournalPosition));
    await first.journal.close();

    const second = await Journal.open({ dir, maxBytes: 1 << 30, logger });
    assert.deepEqual(
      second.recovered.map((r) => r.record.i),
      ['inv_0', 'inv_2', 'inv_3', 'inv_5', 'inv_6', 'inv_7', 'inv_8'],
    );
    second.journal.retire(second.recovered.map((r) => r.position));
    await second.journal.close();
    const third = await Journal.open({ dir, maxBytes: 1 << 30, logger });
    assert.deepEqual(third.recovered, []);
    await third.journal.close();
  });

  test('segments whose records are all retired are deleted, and the size on disk follows', async () => {
    const dir = tempDir();
    const { journal } = await Journal.open({ dir, maxBytes: 1 << 30, segmentMaxBytes: 1024, logger });
    const positions: JournalPosition[] = [];
    for (let i = 0; i < 40; i += 1) positions.push(await journal.append(record(i, `{"pad":"${'x'.repeat(100)}"}`)));
    assert.ok(segmentFiles(dir).length >= 4, `only ${segmentFiles(dir).length} segments`);
    const bytesBefore = journal.bytes;
    journal.retire(positions.slice(0, 39));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Only the segment holding the one live record, and the active one, may remain.
    assert.ok(segmentFiles(dir).length <= 2, `segments left: ${segmentFiles(dir).join(', ')}`);
    assert.ok(journal.bytes < bytesBefore);
    assert.equal(journal.segmentCount, segmentFiles(dir).length);
    await journal.close();
    const again = await Journal.open({ dir, maxBytes: 1 << 30, logger });
    assert.deepEqual(
      again.recovered.map((r) => r.record.i),
      ['inv_39'],
    );
    await again.journal.close();
  });

  test('close() returns only once the segments retired just before it are deleted, so the next open finds none half gone', async () => {
    const dir = tempDir();
    const { journal } = await Journal.open({ dir, maxBytes: 1 << 30, segmentMaxBytes: 1024, logger });
    const positions: JournalPosition[] = [];
    for (let i = 0; i < 400; i += 1) positions.push(await journal.append(record(i, `{"pad":"${'x'.repeat(100)}"}`)));
    const before = segmentFiles(dir).length;
    assert.ok(before >= 40, `only ${before} segments`);
    // As the hand-off does: retire, let the retirements be written on the next turn (which starts
    // deleting the segments left with nothing live), then close at once.
    journal.retire(positions.slice(0, 399));
    await new Promise((resolve) => setImmediate(resolve));
    await journal.close();
    assert.ok(segmentFiles(dir).length <= 2, `after close, segments still on disk: ${segmentFiles(dir).join(', ')}`);
    const again = await Journal.open({ dir, maxBytes: 1 << 30, logger });
    assert.deepEqual(
      again.recovered.map((r) => r.record.i),
      ['inv_399'],
    );
    await again.journal.close();
  });

  test('garbage after a crash is truncated at start, and every whole record is recovered', async () => {
    const dir = tempDir();
    const { journal } = await Journal.open({ dir, maxBytes: 1 << 30, logger });
    for (let i = 0; i < 5; i += 1) await journal.append(record(i));
    await journal.close();
    const [file] = segmentFiles(dir);
    const full = path.join(dir, file as string);
    const size = statSync(full).size;
    appendFileSync(full, Buffer.concat([Buffer.from([0x4a, 0x52, 0x4e, 0x31, 0xff, 0, 0, 0]), Buffer.alloc(37, 7)]));
    const lines: Record<string, unknown>[] = [];
    const capture = pino(
      { level: 'info' },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const again = await Journal.open({ dir, maxBytes: 1 << 30, logger: capture });
    assert.deepEqual(
      again.recovered.map((r) => r.record.i),
      ['inv_0', 'inv_1', 'inv_2', 'inv_3', 'inv_4'],
    );
    assert.equal(statSync(full).size, size, 'the torn tail is cut off');
    assert.ok(lines.some((l) => String(l.msg).includes('torn tail') && l.segment === file));
    await again.journal.close();
  });

  test('full turns true at maxBytes of segments on disk', async () => {
    const dir = tempDir();
    const { journal } = await Journal.open({ dir, maxBytes: 65536, logger });
    let appended = 0;
    while (!journal.full) {
      await journal.append(record(appended, `{"pad":"${'y'.repeat(1000)}"}`));
      appended += 1;
    }
    assert.ok(journal.bytes >= 65536);
    assert.ok(appended > 50 && appended < 70, `${appended} records of ~1 KiB filled 64 KiB`);
    await journal.close();
  });

  test('a directory that cannot be used is a JournalError naming JOURNAL_DIR', async () => {
    const notADir = path.join(tempDir(), 'file');
    writeFileSync(notADir, 'not a directory');
    await assert.rejects(
      Journal.open({ dir: path.join(notADir, 'journal'), maxBytes: 1 << 20, logger }),
      (error: unknown) =>
        error instanceof JournalError && error.kind === 'unwritable' && /JOURNAL_DIR/.test(error.message),
    );
  });

  test('InvoiceJournal: a retired entry is retired once, and what is recovered carries its position', async () => {
    const dir = tempDir();
    const journal = new InvoiceJournal({ dir, maxBytes: 1 << 30, logger });
    assert.deepEqual(await journal.open(), []);
    const entries = [1, 2, 3].map((i) => pendingFromRecord(record(i), 0));
    for (const e of entries) await journal.append(e);
    assert.ok(entries.every((e) => e.journalPosition !== undefined));
    journal.retire([entries[0], entries[0], entries[2]].map((e) => e as (typeof entries)[number]));
    assert.equal(entries[0]?.journalPosition, undefined);
    await journal.close();
    const again = new InvoiceJournal({ dir, maxBytes: 1 << 30, logger });
    const recovered = await again.open();
    assert.deepEqual(
      recovered.map((e) => [e.invoiceId, e.requestId, e.body]),
      [['inv_2', 'req-2', '{"id":"inv_2","n":2}']],
    );
    assert.ok(recovered[0]?.journalPosition !== undefined);
    await again.close();
    const retireFile = readdirSync(dir).find((f) => f.endsWith('.retired'));
    assert.ok(retireFile, 'retirements were written to a retire file');
    assert.equal(readFileSync(path.join(dir, retireFile)).length % 8, 0);
  });
});

describe('the built service with a journal', () => {
  test('a JOURNAL_DIR that cannot be written stops start-up with exit 1, naming the setting', async () => {
    const file = path.join(tempDir(), 'not-a-directory');
    writeFileSync(file, 'x');
    const svc = await spawnService(
      { SQS_QUEUE_URL: 'http://127.0.0.1:4566/000000000000/unused', JOURNAL_DIR: path.join(file, 'journal') },
      { waitForListen: false },
    );
    const exit = await svc.exited;
    assert.equal(exit.code, 1);
    const fatal = svc.logs.find((l) => l.level === 'fatal');
    assert.match(JSON.stringify(fatal), /JOURNAL_DIR/);
  });
});
