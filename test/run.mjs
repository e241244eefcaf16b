// Test entry point, over the compiled tests (dist/test/, one file for each test/**/*.test.ts).
//   node test/run.mjs [files...]   the whole suite (npm test): first makes sure the real components the
//                                  live suites need are answering, starting them when they are not. A
//                                  component that cannot be had fails the run with a message saying how
//                                  to get it; nothing is skipped.
//   node test/run.mjs --unit       every test outside test/live/ (npm run test:unit): needs nothing but
//                                  Node; test/support/offline.ts makes a test that reaches for a live
//                                  component fail, naming it.
//   node test/run.mjs --unit --watch   the same, run again whenever the compiled files change (npm run
//                                  test:watch runs tsc --watch beside it).
// test/k8s/ (the live cluster) has its own command: npm run test:k8s.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LIVE = path.join('test', 'live');
const CLUSTER = path.join('test', 'k8s');
const localstack = process.env.LOCALSTACK_ENDPOINT ?? 'http://127.0.0.1:4566';
const elasticmq = process.env.ELASTICMQ_ENDPOINT ?? 'http://127.0.0.1:9324';
const started = [];

async function answers(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1500) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

async function ensureLocalStack() {
  const health = await answers(`${localstack}/_localstack/health`);
  if (health && /"sqs": *"(available|running)"/.test(health)) {
    console.log(`test: reusing LocalStack at ${localstack}`);
    return;
  }
  console.log('test: LocalStack not answering; starting it (.ci/localstack.sh start)');
  const result = spawnSync('bash', [path.join(root, '.ci/localstack.sh'), 'start'], { stdio: 'inherit' });
  if (result.status !== 0) {
    throw new Error(
      'LocalStack could not be started. Install it with `.ci/localstack.sh install` (needs python3 and PyPI), ' +
        'or point LOCALSTACK_ENDPOINT at a running one (Docker: localstack/localstack:4.13.1).',
    );
  }
  started.push(() => spawnSync('bash', [path.join(root, '.ci/localstack.sh'), 'stop'], { stdio: 'inherit' }));
}

async function ensureElasticMQ() {
  if (await answers(`${elasticmq}/?Action=ListQueues`)) {
    console.log(`test: reusing ElasticMQ at ${elasticmq}`);
    return;
  }
  const port = new URL(elasticmq).port || '80';
  const env = { ...process.env, ELASTICMQ_PORT: port };
  console.log(`test: ElasticMQ not answering; starting it on port ${port} (.ci/elasticmq.sh start)`);
  const result = spawnSync('bash', [path.join(root, '.ci/elasticmq.sh'), 'start'], { stdio: 'inherit', env });
  if (result.status !== 0) {
    throw new Error(
      'ElasticMQ could not be started. Install it with `.ci/elasticmq.sh install` (needs Java 17+ and Maven), ' +
        'or point ELASTICMQ_ENDPOINT at a running one (Docker: softwaremill/elasticmq-native).',
    );
  }
  started.push(() => spawnSync('bash', [path.join(root, '.ci/elasticmq.sh'), 'stop'], { stdio: 'inherit', env }));
}

async function ensureJaeger() {
  const script = path.join(root, 'otel/jaeger.sh');
  if (!existsSync(script)) return;
  const query = process.env.JAEGER_QUERY_URL ?? 'http://127.0.0.1:16686';
  if (await answers(`${query}/api/services`)) {
    console.log(`test: reusing Jaeger at ${query}`);
    return;
  }
  console.log('test: Jaeger not answering; starting it (otel/jaeger.sh start)');
  const result = spawnSync('bash', [script, 'start'], { stdio: 'inherit' });
  if (result.status !== 0) {
    throw new Error('Jaeger could not be started: run `otel/jaeger.sh install` (needs Go and the Go module proxy).');
  }
  started.push(() => spawnSync('bash', [script, 'stop'], { stdio: 'inherit' }));
}

/** Every test source (test/…/*.test.ts; the sources, so a test deleted or moved leaves no stale compiled copy behind). */
function testSources(dir = 'test') {
  const out = [];
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (rel !== CLUSTER) out.push(...testSources(rel));
    } else if (entry.name.endsWith('.test.ts')) out.push(rel);
  }
  return out.sort();
}

function compiled(source) {
  const file = path.join('dist', source.replace(/\.ts$/, '.js'));
  if (!existsSync(path.join(root, file))) throw new Error(`${file} is missing: run npm run build first`);
  return file;
}

function runTests(files, { unit = false, watch = false } = {}) {
  const fence = path.join(root, 'dist/test/support/offline.js');
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--enable-source-maps',
        '--test',
        // The live suites share LocalStack and time their faults: one file at a time. The unit tests
        // hold nothing shared: three files at a time (most of their time is waiting on child processes
        // and timers, so three keep two cores busy).
        `--test-concurrency=${unit ? 3 : 1}`,
        `--test-timeout=${unit ? 60000 : 180000}`,
        '--test-reporter=spec',
        ...(watch ? ['--watch'] : []),
        ...files,
      ],
      {
        cwd: root,
        stdio: 'inherit',
        env: {
          ...process.env,
          LOCALSTACK_ENDPOINT: localstack,
          ELASTICMQ_ENDPOINT: elasticmq,
          AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
          AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
          AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
          ...(unit
            ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${JSON.stringify(fence)}`.trim() }
            : {}),
        },
      },
    );
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

function ensureTools() {
  // valkey-server, kubernetes-validate, helm, jaeger, vegeta and promtool, into .cache/bin; quick when already
  // there. The first time, the Go builds take minutes (the preflight said so; each prints progress).
  const result = spawnSync('bash', [path.join(root, '.ci/tools.sh')], { stdio: 'inherit' });
  if (result.status !== 0) {
    throw new Error(
      'the test tools could not be installed: run `.ci/tools.sh` and read its message (needs Go and python3 with venv; `bash .ci/preflight.sh` lists what is missing).',
    );
  }
  process.env.PATH = `${path.join(root, '.cache/bin')}${path.delimiter}${process.env.PATH ?? ''}`;
}

const args = process.argv.slice(2);
const unit = args.includes('--unit');
const watch = args.includes('--watch');
const named = args.filter((a) => !a.startsWith('--'));
let code = 1;
try {
  if (unit) {
    // The long property-based files first, so the shorter ones fill the other worker meanwhile.
    const sources = testSources().filter((f) => !f.startsWith(LIVE));
    const ordered = [
      ...sources.filter((f) => f.endsWith('.fuzz.test.ts')),
      ...sources.filter((f) => !f.endsWith('.fuzz.test.ts')),
    ];
    const files = named.length > 0 ? named : ordered.map(compiled);
    code = await runTests(files, { unit: true, watch });
  } else {
    ensureTools();
    await ensureLocalStack();
    await ensureElasticMQ();
    await ensureJaeger();
    code = await runTests(named.length > 0 ? named : testSources().map(compiled), { watch });
  }
} catch (error) {
  console.error(`test: ${error.message}`);
} finally {
  for (const stop of started.reverse()) stop();
}
process.exit(code);
