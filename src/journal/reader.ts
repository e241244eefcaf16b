// Recovery: reads a segment an earlier run left, truncates a torn tail, skips corrupt records, and returns what is not retired.
import { readFile, truncate } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { RETIRE_ENTRY_BYTES, scanRetirements, scanSegment } from './format.js';
import { newSegment, type Segment } from './segment.js';
import type { RecoveredRecord } from './types.js';

/** Segment `seq` as found on disk (sealed), with its records not yet retired, oldest first. */
export async function recoverSegment(
  dir: string,
  seq: number,
  logger: Logger,
): Promise<{ segment: Segment; live: RecoveredRecord[] }> {
  const { logPath, retirePath } = newSegment(dir, seq);
  const name = path.basename(logPath);
  const data = await readFile(logPath);
  const scan = scanSegment(data);
  for (const range of scan.corrupt) {
    logger.error({ segment: name, offset: range.offset, bytes: range.bytes }, 'journal: corrupt record skipped');
  }
  if (scan.validEnd < data.length) {
    logger.warn(
      { segment: name, offset: scan.validEnd, bytes: data.length - scan.validEnd },
      'journal: torn tail truncated (a write cut short by a crash)',
    );
    await truncate(logPath, scan.validEnd);
  }
  let retired = new Set<number>();
  let retireSize = 0;
  try {
    const retireData = await readFile(retirePath);
    retired = scanRetirements(retireData);
    retireSize = retireData.length - (retireData.length % RETIRE_ENTRY_BYTES);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const live = scan.records.filter((r) => !retired.has(r.offset));
  const segment = newSegment(dir, seq, { size: scan.validEnd, live: live.length, retireSize });
  return { segment, live: live.map((r) => ({ position: { segment: seq, offset: r.offset }, record: r.record })) };
}
