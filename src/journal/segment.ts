// A journal segment: its in-memory state, its file names, and the file operations that start, close and delete it.
import { constants } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

/** One segment: a `.log` file of records and a `.retired` file of the offsets retired in it. */
export interface Segment {
  readonly seq: number;
  readonly logPath: string;
  readonly retirePath: string;
  /** Open for appending: the active segment only. */
  handle: FileHandle | undefined;
  /** Bytes of records (the file's size). */
  size: number;
  /** Records not yet retired. */
  live: number;
  /** No more records will be appended: deleted once `live` reaches 0. */
  sealed: boolean;
  deleted: boolean;
  /** The retire file: opened on the first retirement; written at `retireSize`, one write at a time. */
  retireHandle: Promise<FileHandle> | undefined;
  retireSize: number;
  retireChain: Promise<void>;
}

const SEGMENT_NAME = /^segment-(\d{12})\.log$/;
const RETIRE_NAME = /^segment-\d{12}\.retired$/;

function segmentName(seq: number): string {
  return `segment-${String(seq).padStart(12, '0')}`;
}

/** A segment's state: a recovered one is sealed with its size and live count, a new one is open and empty. */
export function newSegment(
  dir: string,
  seq: number,
  state: { handle?: FileHandle; size?: number; live?: number; retireSize?: number } = {},
): Segment {
  const name = segmentName(seq);
  return {
    seq,
    logPath: path.join(dir, `${name}.log`),
    retirePath: path.join(dir, `${name}.retired`),
    handle: state.handle,
    size: state.size ?? 0,
    live: state.live ?? 0,
    sealed: state.handle === undefined,
    deleted: false,
    retireHandle: undefined,
    retireSize: state.retireSize ?? 0,
    retireChain: Promise.resolve(),
  };
}

/** The sequence numbers of the segment logs among `names`, in order. */
export function segmentSeqs(names: readonly string[]): number[] {
  return names
    .map((name) => SEGMENT_NAME.exec(name)?.[1])
    .filter((seq): seq is string => seq !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Deletes retire files whose segment log is gone (deleted between the two unlinks). */
export async function removeOrphanRetireFiles(dir: string, names: readonly string[], seqs: number[]): Promise<void> {
  const logs = new Set(seqs.map((seq) => segmentName(seq)));
  for (const name of names) {
    if (RETIRE_NAME.test(name) && !logs.has(name.slice(0, -'.retired'.length))) {
      await unlink(path.join(dir, name)).catch(() => undefined);
    }
  }
}

/**
 * True where segment logs are opened with O_DSYNC (Linux, macOS): each write returns once its bytes
 * are as durable as an fdatasync would make them, so a group commit is one call on the thread pool
 * instead of a write and then an fdatasync (PostgreSQL's `wal_sync_method = open_datasync`). Elsewhere
 * the journal writes, then calls fdatasync. bench/sync-modes.ts measures the two on a disk.
 */
export const SYNC_ON_WRITE = typeof constants.O_DSYNC === 'number' && constants.O_DSYNC !== 0;

const SEGMENT_LOG_FLAGS = SYNC_ON_WRITE
  ? constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC
  : 'wx';

/** Creates segment `seq`'s log file, open for appending ({@link SYNC_ON_WRITE}), with its directory entry durable. */
export async function createSegment(dir: string, seq: number): Promise<Segment> {
  const logPath = newSegment(dir, seq).logPath;
  const handle = await open(logPath, SEGMENT_LOG_FLAGS, 0o600);
  try {
    // The new file's directory entry must be durable before any record in it is acknowledged.
    await syncDirectory(dir);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(logPath).catch(() => undefined);
    throw error;
  }
  return newSegment(dir, seq, { handle });
}

/** Closes the segment's log and retire files (after the retirements under way). */
export async function closeSegmentFiles(segment: Segment): Promise<void> {
  await segment.retireChain;
  await segment.handle?.close().catch(() => undefined);
  segment.handle = undefined;
  const retire = segment.retireHandle;
  segment.retireHandle = undefined;
  if (retire !== undefined) await (await retire.catch(() => undefined))?.close().catch(() => undefined);
}

/** Removes a segment's files: the log first, since a retire file without its log is harmless, a log without its retire file is not. */
export async function unlinkSegment(segment: Segment, logger: Logger): Promise<void> {
  await unlink(segment.logPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') logger.warn({ err: error }, 'journal: could not delete a retired segment');
  });
  await unlink(segment.retirePath).catch(() => undefined);
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
