// The journal's on-disk format: record and retire-entry encoding, and the scan that recovers them.
import { crc32 } from 'node:zlib';

// A segment file is a run of records; each record is a 12-byte header and a JSON payload:
//
//   magic   u32 LE  0x314e524a ("JRN1")   finds the next record after a corrupt one
//   length  u32 LE  payload bytes
//   crc     u32 LE  CRC-32 (zlib) of the payload
//   payload         `length` bytes of UTF-8 JSON (a JournalRecord)
//
// A retire file (one per segment) is a run of 8-byte entries, written without a sync:
//
//   offset  u32 LE  where the retired record starts in its segment
//   check   u32 LE  CRC-32 of those 4 offset bytes: a torn or garbled entry is ignored, never misread

export const RECORD_MAGIC = 0x314e524a;
export const RECORD_HEADER_BYTES = 12;
export const RETIRE_ENTRY_BYTES = 8;
/** Sanity bound on a record's length: larger is garbage (a body is at most 1 MiB, escaped at most 6x). */
export const RECORD_MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;

const MAGIC_BYTES = Buffer.from([0x4a, 0x52, 0x4e, 0x31]);

/** One accepted invoice as the journal keeps it: everything needed to send it again after a crash. */
export interface JournalRecord {
  /** Invoice id. */
  i: string;
  /** Request id of the request that accepted it. */
  r: string;
  /** The body, exactly as received. */
  b: string;
  /**
   * SQS message attributes, exactly as they will be sent: `invoice-id`, `request-id`, `received-at`, the
   * forwarded signature headers, the accepting request's traceparent/tracestate. Records of versions before
   * `received-at` lack it; recovery then adds one (invoice-journal.ts, pendingFromRecord). Both versions
   * read each other's records: the shape is unchanged, only the attributes it carries grew.
   */
  a: Record<string, string>;
  /** FIFO: MessageGroupId. */
  g?: string;
  /** FIFO: MessageDeduplicationId. */
  d?: string;
}

/** A record found in a segment: where it starts and what it holds. */
export interface ScannedRecord {
  offset: number;
  /** Header and payload. */
  bytes: number;
  record: JournalRecord;
}

/** A stretch of a segment that is not a valid record. */
export interface DamagedRange {
  offset: number;
  bytes: number;
}

export interface ScannedSegment {
  records: ScannedRecord[];
  /** Corrupt stretches with valid records after them: skipped. */
  corrupt: DamagedRange[];
  /** Where the valid data ends; bytes after it (a torn last write, garbage) are the torn tail. */
  validEnd: number;
}

export function encodeRecord(record: JournalRecord): Buffer {
  const payload = Buffer.from(JSON.stringify(record), 'utf8');
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  out.writeUInt32LE(RECORD_MAGIC, 0);
  out.writeUInt32LE(payload.length, 4);
  out.writeUInt32LE(crc32(payload), 8);
  payload.copy(out, RECORD_HEADER_BYTES);
  return out;
}

/** The record starting at `offset`, or undefined when the bytes there are not a whole, valid record. */
function recordAt(data: Buffer, offset: number): ScannedRecord | undefined {
  if (offset + RECORD_HEADER_BYTES > data.length) return undefined;
  if (data.readUInt32LE(offset) !== RECORD_MAGIC) return undefined;
  const length = data.readUInt32LE(offset + 4);
  if (length > RECORD_MAX_PAYLOAD_BYTES) return undefined;
  const end = offset + RECORD_HEADER_BYTES + length;
  if (end > data.length) return undefined;
  const payload = data.subarray(offset + RECORD_HEADER_BYTES, end);
  if (crc32(payload) !== data.readUInt32LE(offset + 8)) return undefined;
  const record = parseRecord(payload);
  return record === undefined ? undefined : { offset, bytes: end - offset, record };
}

function parseRecord(payload: Buffer): JournalRecord | undefined {
  try {
    const value = JSON.parse(payload.toString('utf8')) as Partial<JournalRecord> | null;
    if (value === null || typeof value !== 'object') return undefined;
    if (typeof value.i !== 'string' || typeof value.r !== 'string' || typeof value.b !== 'string') return undefined;
    if (value.a === null || typeof value.a !== 'object') return undefined;
    return value as JournalRecord;
  } catch {
    return undefined;
  }
}

/**
 * Reads a segment's records. A stretch that is not a valid record is skipped when a valid record
 * follows it (found by its magic and checked by its CRC), and is the torn tail otherwise.
 */
export function scanSegment(data: Buffer): ScannedSegment {
  const records: ScannedRecord[] = [];
  const corrupt: DamagedRange[] = [];
  let offset = 0;
  while (offset < data.length) {
    const found = recordAt(data, offset);
    if (found !== undefined) {
      records.push(found);
      offset += found.bytes;
      continue;
    }
    const next = nextRecord(data, offset + 1);
    if (next === undefined) break;
    corrupt.push({ offset, bytes: next - offset });
    offset = next;
  }
  return { records, corrupt, validEnd: offset };
}

function nextRecord(data: Buffer, from: number): number | undefined {
  for (let at = data.indexOf(MAGIC_BYTES, from); at !== -1; at = data.indexOf(MAGIC_BYTES, at + 1)) {
    if (recordAt(data, at) !== undefined) return at;
  }
  return undefined;
}

export function encodeRetirements(offsets: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(offsets.length * RETIRE_ENTRY_BYTES);
  offsets.forEach((offset, i) => {
    const at = i * RETIRE_ENTRY_BYTES;
    out.writeUInt32LE(offset, at);
    out.writeUInt32LE(crc32(out.subarray(at, at + 4)), at + 4);
  });
  return out;
}

/** The offsets a retire file names; entries that fail their check (torn, garbled) are left out. */
export function scanRetirements(data: Buffer): Set<number> {
  const offsets = new Set<number>();
  for (let at = 0; at + RETIRE_ENTRY_BYTES <= data.length; at += RETIRE_ENTRY_BYTES) {
    if (crc32(data.subarray(at, at + 4)) === data.readUInt32LE(at + 4)) offsets.add(data.readUInt32LE(at));
  }
  return offsets;
}
