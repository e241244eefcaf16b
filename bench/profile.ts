// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by package, so a
// missed target can be explained with evidence. Also a CLI: node dist/bench/profile.js FILE [--top N]
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  selfMs: number;
  /** Share of the busy (not idle) sampled time, 0..100. */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Time not spent idle, ms. */
  busyMs: number;
  /** Coarse areas (OpenTelemetry, AWS SDK, Koa, ...): the first thing to read. */
  byArea: ProfileEntry[];
  byFunction: ProfileEntry[];
  byPackage: ProfileEntry[];
}

/** Which coarse area a package bucket belongs to. */
function areaOf(bucket: string): string {
  if (
    bucket.startsWith('@opentelemetry/') ||
    /^(require-in-the-middle|import-in-the-middle|shimmer|protobufjs|@protobufjs\/.*)$/.test(bucket)
  ) {
    return 'OpenTelemetry (SDK, instrumentations, exporter)';
  }
  if (
    bucket.startsWith('@aws-sdk/') ||
    bucket.startsWith('@smithy/') ||
    bucket.startsWith('@aws-crypto/') ||
    bucket === 'fast-xml-parser'
  ) {
    return 'AWS SDK (SendMessageBatch: build, sign, parse)';
  }
  if (
    /^(koa|koa-.*|@koa\/.*|delegates|type-is|raw-body|co-body|inflation|media-typer|mime-types|mime-db|content-type|statuses|http-errors|on-finished|vary|accepts|negotiator|only|cookies|depd|encodeurl|escape-html|fresh|path-to-regexp|formidable|destroy|ee-first|iconv-lite|bytes|unpipe)$/.test(
      bucket,
    )
  ) {
    return 'Koa, router, body reading';
  }
  if (/^(ajv|ajv-formats|fast-deep-equal|fast-uri|json-schema-traverse|typebox)$/.test(bucket))
    return 'validation (Ajv)';
  if (
    /^(pino|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|atomic-sleep|on-exit-leak-free|safe-stable-stringify)$/.test(
      bucket,
    )
  ) {
    return 'logging (pino)';
  }
  if (bucket.startsWith('repo ')) return `service code (${bucket.slice(5)})`;
  if (bucket === 'node: (core)') return 'Node core (http, net, streams) in JS';
  if (bucket === '(native)') return 'native: syscalls (socket writes) and builtins';
  return bucket;
}

/** Which bucket a frame's script belongs to: a node_modules package, the repo's code, node itself. */
function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return 'node: (core)';
  const dist = url.indexOf('/dist/');
  if (dist >= 0)
    return `repo ${url
      .slice(dist + '/dist/'.length)
      .split('/')
      .slice(0, 2)
      .join('/')}`;
  return url;
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url === '' ? '' : ` ${path.basename(url)}:${lineNumber + 1}`;
  const pkg = packageOf(url, functionName);
  return `${functionName || '(anonymous)'}${where}${url.includes('node_modules/') ? ` [${pkg}]` : ''}`;
}

export function summariseProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  const area = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    totalUs += us;
    if (node.callFrame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const name = frameName(node);
    fn.set(name, (fn.get(name) ?? 0) + us);
    const bucket = packageOf(node.callFrame.url, node.callFrame.functionName);
    pkg.set(bucket, (pkg.get(bucket) ?? 0) + us);
    const a = areaOf(bucket);
    area.set(a, (area.get(a) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const rank = (m: Map<string, number>): ProfileEntry[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, pct: busyUs > 0 ? (100 * us) / busyUs : 0 }));
  return {
    file,
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    byArea: rank(area),
    byFunction: rank(fn),
    byPackage: rank(pkg),
  };
}

/** Markdown for one summary. */
export function profileMarkdown(title: string, summary: ProfileSummary): string {
  const rows = (entries: ProfileEntry[]): string =>
    entries
      .map((e) => `| ${e.name.replaceAll('|', '\\|')} | ${e.selfMs.toFixed(0)} | ${e.pct.toFixed(1)} |`)
      .join('\n');
  return [
    `#### ${title}`,
    '',
    `Profile \`${path.basename(summary.file)}\`: ${(summary.totalMs / 1000).toFixed(1)} s sampled, ` +
      `${(summary.busyMs / 1000).toFixed(1)} s busy (not idle).`,
    '',
    '| self time by area | ms | % of busy |',
    '| --- | ---: | ---: |',
    rows(summary.byArea),
    '',
    '| self time by package | ms | % of busy |',
    '| --- | ---: | ---: |',
    rows(summary.byPackage),
    '',
    '| self time by function | ms | % of busy |',
    '| --- | ---: | ---: |',
    rows(summary.byFunction),
    '',
  ].join('\n');
}

if (require.main === module) {
  const [file, flag, value] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write('usage: node dist/bench/profile.js FILE.cpuprofile [--top N]\n');
    process.exit(2);
  }
  const top = flag === '--top' ? Number(value) : 25;
  process.stdout.write(profileMarkdown(path.basename(file), summariseProfile(file, top)) + '\n');
}
