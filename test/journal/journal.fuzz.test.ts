import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import {
  Journal,
  encodeRecord,
  scanSegment,
  type JournalPosition,
  type JournalRecord,
} from '../../src/journal/index.js';
import { tempDir } from '../support/service.js';

// Recovery under random damage: truncations (a write cut short), flipped bytes (a bad sector, a torn
// page) and garbage appended. It must never throw, and never lose a record whose bytes are intact.

const recordArb: fc.Arbitrary<JournalRecord> = fc
  .record({
    i: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
    r: fc.string({ minLength: 1, maxLength: 40 }),
    b: fc.oneof(fc.json(), fc.string({ unit: 'binary', maxLength: 300 })),
    a: fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 60 }), { maxKeys: 4 }),
  })
  // As plain JSON objects, the way a record comes back from disk.
  .map((r) => JSON.parse(JSON.stringify(r)) as JournalRecord);

const damageArb = fc.record({
  /** Fraction of the data kept (1 = no truncation). */
  keep: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
  /** Positions (as fractions of the length) whose byte is replaced. */
  flips: fc.array(
    fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.integer({ min: 1, max: 255 })),
    {
      maxLength: 4,
    },
  ),
  garbage: fc.uint8Array({ maxLength: 64 }),
});

interface Damaged {
  data: Buffer;
  /** Byte positions that were changed, in the kept part. */
  changed: number[];
  kept: number;
}

function damage(original: Buffer, d: DamageSpec): Damaged {
  const kept = Math.floor(original.length * d.keep);
  const data = Buffer.from(original.subarray(0, kept));
  const changed: number[] = [];
  for (const [where, xor] of d.flips) {
    if (kept === 0) break;
    const at = Math.min(kept - 1, Math.floor(where * kept));
    data.writeUInt8(data.readUInt8(at) ^ xor, at);
    changed.push(at);
  }
  return { data: Buffer.concat([data, Buffer.from(d.garbage)]), changed, kept };
}

interface DamageSpec {
  keep: number;
  flips: [number, number][];
  garbage: Uint8Array;
}

/** Records whose bytes all lie in the kept part and were not changed. */
function intactOffsets(parts: Buffer[], damaged: Damaged): Set<number> {
  const intact = new Set<number>();
  let offset = 0;
  for (const part of parts) {
    const end = offset + part.length;
    if (end <= damaged.kept && !damaged.changed.some((c) => c >= offset && c < end)) intact.add(offset);
    offset = end;
  }
  return intact;
}

describe('journal recovery under random damage', () => {
  test('scanning a damaged segment never throws and keeps every intact record, unaltered', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 12 }), damageArb, (records, spec) => {
        const parts = records.map(encodeRecord);
        const damaged = damage(Buffer.concat(parts), spec);
        const scan = scanSegment(damaged.data);
        const found = new Map(scan.records.map((r) => [r.offset, r.record]));
        let offset = 0;
        const byOffset = new Map<number, JournalRecord>();
        parts.forEach((p, i) => {
          byOffset.set(offset, records[i] as JournalRecord);
          offset += p.length;
        });
        for (const at of intactOffsets(parts, damaged)) {
          assert.deepEqual(found.get(at), byOffset.get(at), `intact record at ${at} lost or altered`);
        }
        // Nothing is made up: whatever is found is one of the records written, where it was written.
        for (const [at, r] of found) assert.deepEqual(r, byOffset.get(at));
        assert.ok(scan.validEnd <= damaged.data.length);
      }),
      { numRuns: 1000 },
    );
  });

  test('opening a damaged journal directory never throws and hands back every intact, unretired record', async () => {
    const logger = pino({ level: 'silent' });
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordArb, { minLength: 1, maxLength: 10 }),
        fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
        damageArb,
        fc.nat({ max: 100 }),
        async (records, retiredFlags, spec, retireCut) => {
          const dir = tempDir('journal-fuzz-');
          const { journal } = await Journal.open({ dir, maxBytes: 1 << 30, logger });
          const positions: JournalPosition[] = [];
          for (const r of records) positions.push(await journal.append(r));
          const retired = positions.filter((_, i) => retiredFlags[i] === true);
          journal.retire(retired);
          await journal.close();

          const log = readdirSync(dir).find((f) => f.endsWith('.log')) as string;
          const original = readFileSync(path.join(dir, log));
          const parts = records.map(encodeRecord);
          const damaged = damage(original, spec);
          writeFileSync(path.join(dir, log), damaged.data);
          // The retire file may be cut anywhere too: that can only bring records back, never hide one.
          const retireFile = readdirSync(dir).find((f) => f.endsWith('.retired'));
          if (retireFile !== undefined) {
            const data = readFileSync(path.join(dir, retireFile));
            writeFileSync(path.join(dir, retireFile), data.subarray(0, Math.min(data.length, retireCut)));
          }

          const again = await Journal.open({ dir, maxBytes: 1 << 30, logger });
          const recovered = new Set(again.recovered.map((r) => r.position.offset));
          await again.journal.close();
          const retiredOffsets = new Set(retired.map((p) => p.offset));
          for (const at of intactOffsets(parts, damaged)) {
            if (!retiredOffsets.has(at)) assert.ok(recovered.has(at), `intact unretired record at ${at} lost`);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
