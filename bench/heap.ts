// Summarises a V8 .heapsnapshot: what the live heap (after the full GC a snapshot forces) is made of,
// by node type and constructor. Used to tell retained data from GC slack when RSS looks high.
// Also a CLI: node dist/bench/heap.js FILE [--top N]
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapEntry {
  name: string;
  count: number;
  selfBytes: number;
}

export interface HeapSummary {
  file: string;
  liveBytes: number;
  byName: HeapEntry[];
}

export function summariseHeap(file: string, top = 12): HeapSummary {
  const snapshot = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot;
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const stride = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, HeapEntry>();
  let live = 0;
  for (let i = 0; i < snapshot.nodes.length; i += stride) {
    const type = types[snapshot.nodes[i + typeAt] ?? 0] ?? '?';
    const size = snapshot.nodes[i + sizeAt] ?? 0;
    live += size;
    // Strings are grouped by kind, not by content; objects by constructor; the rest by type.
    const raw = snapshot.strings[snapshot.nodes[i + nameAt] ?? 0] ?? '';
    const name =
      type === 'object' || type === 'closure' || type === 'native' ? `${type} ${raw.slice(0, 60)}` : `(${type})`;
    const group = groups.get(name) ?? { name, count: 0, selfBytes: 0 };
    group.count += 1;
    group.selfBytes += size;
    groups.set(name, group);
  }
  return {
    file,
    liveBytes: live,
    byName: [...groups.values()].sort((a, b) => b.selfBytes - a.selfBytes).slice(0, top),
  };
}

export function heapMarkdown(summary: HeapSummary): string {
  const mb = (bytes: number): string => (bytes / 1048576).toFixed(1);
  return [
    `Heap snapshot \`${path.basename(summary.file)}\`: ${mb(summary.liveBytes)} MB live (after the snapshot's full GC).`,
    '',
    '| what | count | self MB |',
    '| --- | ---: | ---: |',
    ...summary.byName.map((e) => `| ${e.name.replaceAll('|', '\\|')} | ${e.count} | ${mb(e.selfBytes)} |`),
    '',
  ].join('\n');
}

if (require.main === module) {
  const [file, flag, value] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write('usage: node dist/bench/heap.js FILE.heapsnapshot [--top N]\n');
    process.exit(2);
  }
  process.stdout.write(heapMarkdown(summariseHeap(file, flag === '--top' ? Number(value) : 20)) + '\n');
}
