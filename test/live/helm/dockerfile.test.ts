// Docker cannot run on these machines, so the image is checked statically, and by starting the built
// service laid out exactly as the Dockerfile's final stage lays it out.
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, tempDir } from '../../support/service.js';
import { POD_NAME, podEnvironment, render } from '../../support/chart.js';

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  name: string | undefined;
  base: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (continuations joined, comments dropped, ARGs in FROM resolved). */
function parseDockerfile(text: string): { stages: Stage[]; globalArgs: Map<string, string> } {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.trimEnd();
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const joined = (pending + line).trim();
    pending = '';
    if (joined) logical.push(joined);
  }
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logical) {
    const match = /^(\S+)\s*(.*)$/.exec(line);
    const keyword = (match?.[1] ?? '').toUpperCase();
    const args = match?.[2] ?? '';
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      const base = (from?.[1] ?? '').replace(/\$\{?(\w+)\}?/g, (_m, name: string) => globalArgs.get(name) ?? '');
      stages.push({ name: from?.[2], base, instructions: [] });
    } else if (stages.length === 0 && keyword === 'ARG') {
      const [name, value] = args.split('=', 2);
      if (name) globalArgs.set(name, value ?? '');
    } else {
      const stage = stages.at(-1);
      assert.ok(stage, `${keyword} before the first FROM`);
      stage.instructions.push({ keyword, args });
    }
  }
  return { stages, globalArgs };
}

const all = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);

/** The npm install commands inside a stage's RUN instructions. */
function npmInstalls(stage: Stage): string[] {
  return all(stage, 'RUN')
    .flatMap((run) => run.args.replace(/^(--\S+\s+)+/, '').split(/&&|;/))
    .map((command) => command.trim())
    .filter((command) => /\bnpm\s+(ci|install|i)\b/.test(command));
}

interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
}

function copies(stage: Stage): Copy[] {
  return all(stage, 'COPY').map((copy) => {
    const tokens = copy.args.split(/\s+/);
    const from = tokens.find((t) => t.startsWith('--from='))?.slice('--from='.length);
    const paths = tokens.filter((t) => !t.startsWith('--'));
    return { from, sources: paths.slice(0, -1), dest: paths.at(-1) ?? '' };
  });
}

function workdir(stage: Stage): string {
  const dir = all(stage, 'WORKDIR').at(-1)?.args ?? '';
  assert.ok(dir.startsWith('/'), 'the stage sets an absolute WORKDIR');
  return dir;
}

/** `.dockerignore` semantics: the last pattern matching the path, or one of its parent folders, decides. */
function ignoredByDocker(patterns: readonly string[], file: string): boolean {
  const toRegExp = (pattern: string): RegExp => {
    let source = '';
    for (let i = 0; i < pattern.length; i += 1) {
      const c = pattern.charAt(i);
      if (c === '*' && pattern.charAt(i + 1) === '*') {
        source += '.*';
        i += 1;
      } else if (c === '*') source += '[^/]*';
      else if (c === '?') source += '[^/]';
      else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${source}$`);
  };
  const parts = file.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = path.posix.normalize((negated ? raw.slice(1) : raw).trim()).replace(/\/$/, '');
    if (candidates.some((candidate) => toRegExp(pattern).test(candidate))) ignored = !negated;
  }
  return ignored;
}

function filesUnder(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) return [path.relative(base, full)];
    return entry.isDirectory() ? filesUnder(full, base) : [path.relative(base, full)];
  });
}

const dockerfile = parseDockerfile(readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const finalStage = dockerfile.stages.at(-1) as Stage;
const buildStage = dockerfile.stages.find((s) => s.name === 'build');
const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('Dockerfile', () => {
  it('is multi-stage, every stage on a pinned Node 24 LTS slim image, the release the tests run on', () => {
    assert.ok(dockerfile.stages.length >= 2, 'a build stage and a runtime stage');
    assert.ok(buildStage, 'a stage named build');
    for (const stage of dockerfile.stages) {
      const match = /^node:(\d+)\.(\d+)\.(\d+)-(bookworm|trixie)-slim(@sha256:[0-9a-f]{64})?$/.exec(stage.base);
      assert.ok(match, `base image ${stage.base} is node:<full version>-<debian>-slim`);
      assert.equal(match[1], '24', 'Node 24, the current LTS line');
      assert.equal(`${match[1]}.${match[2]}.${match[3]}`, pkg.devDependencies.node, 'same Node as the devDependency');
    }
  });

  it("CMD is exec form and starts node directly with the OTel preload, exactly as npm start's command", () => {
    const cmds = all(finalStage, 'CMD');
    assert.equal(cmds.length, 1);
    const cmd = JSON.parse(cmds[0]?.args ?? '') as unknown;
    assert.ok(Array.isArray(cmd), 'exec form (a JSON array): no shell in between, so SIGTERM reaches node');
    assert.equal(cmd[0], 'node', 'node itself, not npm (npm does not pass SIGTERM on reliably)');
    const preload = cmd.indexOf('--require');
    assert.equal(cmd[preload + 1], './dist/src/telemetry/preload.js');
    assert.deepEqual(cmd, pkg.scripts.start?.split(/\s+/), 'the same command as `npm start`');
    assert.deepEqual(all(finalStage, 'ENTRYPOINT'), [], 'no ENTRYPOINT wrapping the command');
    for (const signal of all(finalStage, 'STOPSIGNAL')) assert.equal(signal.args, 'SIGTERM');
  });

  it('runs as a numeric non-root user', () => {
    const user = all(finalStage, 'USER').at(-1)?.args ?? '';
    const match = /^(\d+)(?::(\d+))?$/.exec(user);
    assert.ok(match, `USER ${user} is numeric, so Kubernetes' runAsNonRoot can verify it`);
    assert.ok(Number(match[1]) > 0, 'not root');
    const last = finalStage.instructions.map((i) => i.keyword);
    assert.ok(last.lastIndexOf('USER') > last.lastIndexOf('RUN'), 'nothing runs as root after USER');
  });

  it('the final stage installs production dependencies only; the build stage has the dev ones for tsc', () => {
    const finalInstalls = npmInstalls(finalStage);
    assert.ok(finalInstalls.length > 0, 'the final stage installs its dependencies');
    for (const command of finalInstalls) {
      assert.match(command, /^npm ci\b/, 'npm ci: exactly the lockfile');
      assert.match(command, /--omit=dev\b/, `${command} leaves dev dependencies out`);
    }
    for (const copy of copies(finalStage)) {
      assert.ok(!copy.sources.some((s) => s.includes('node_modules')), 'no node_modules copied in (they hold dev dependencies)');
      if (copy.from) {
        for (const source of copy.sources) assert.ok(source.startsWith(`${workdir(buildStage as Stage)}/dist/`), `${source}: compiled output only`);
      }
    }
    const buildInstalls = npmInstalls(buildStage as Stage);
    assert.ok(buildInstalls.some((c) => /^npm ci\b/.test(c) && !c.includes('--omit=dev')), 'tsc needs the dev dependencies');
    assert.ok(all(buildStage as Stage, 'RUN').some((r) => r.args.includes('typescript/bin/tsc')), 'the build stage compiles');
  });

  it('the dead-letter folder exists, belongs to the runtime user and is named by DEAD_LETTER_PATH', () => {
    const env = all(finalStage, 'ENV').map((e) => e.args).join(' ');
    const deadLetterPath = /(?:^|\s)DEAD_LETTER_PATH=(\S+)/.exec(env)?.[1] ?? '';
    assert.ok(deadLetterPath.startsWith('/'), 'an absolute DEAD_LETTER_PATH (the default is relative to the read-only app folder)');
    const dir = path.posix.dirname(deadLetterPath);
    const user = all(finalStage, 'USER').at(-1)?.args ?? '';
    const runs = all(finalStage, 'RUN').map((r) => r.args).join('\n');
    assert.match(runs, new RegExp(`mkdir -p ${dir}\\b`));
    assert.match(runs, new RegExp(`chown ${user} ${dir}\\b`));
    assert.equal(all(finalStage, 'EXPOSE')[0]?.args, '3000');
  });

  it('.dockerignore keeps dependencies, build output, tools, data and local config out, and lets every COPY source in', () => {
    const patterns = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const file of [
      'node_modules/koa/package.json',
      'dist/src/main.js',
      '.git/HEAD',
      '.cache/bin/helm',
      'data/dead-letter.jsonl',
      'config/local.json',
      'helm/values.yaml',
      'test/live/helm/chart.test.ts',
      '.env',
    ]) {
      assert.ok(ignoredByDocker(patterns, file), `${file} is kept out of the build context`);
    }
    const sources = dockerfile.stages.flatMap((stage) => copies(stage).filter((c) => !c.from).flatMap((c) => c.sources));
    assert.ok(sources.length > 0);
    for (const source of sources) {
      const full = path.join(REPO_ROOT, source);
      const files = statSync(full).isDirectory() ? filesUnder(full).map((f) => path.posix.join(source, f)) : [source];
      for (const file of files) assert.ok(!ignoredByDocker(patterns, file), `${file} (COPY ${source}) reaches the build`);
    }
  });

  it('laid out as the image lays it out, the service starts with the chart environment, serves, writes nothing outside its volumes, and exits 0 on SIGTERM', async () => {
    const root = tempDir('image-layout-');
    const app = path.join(root, 'app');
    const volume = path.join(root, 'volume');
    mkdirSync(app);
    assert.equal(workdir(finalStage), '/app');
    const buildWorkdir = workdir(buildStage as Stage);
    for (const copy of copies(finalStage)) {
      const dest = path.resolve(app, copy.dest);
      for (const source of copy.sources) {
        // The build stage's output is this repo's dist/ (same tsc, same tsconfig, src only).
        const from = copy.from ? path.join(REPO_ROOT, path.posix.relative(buildWorkdir, source)) : path.join(REPO_ROOT, source);
        const into = copy.dest.endsWith('/') || copy.sources.length > 1 ? path.join(dest, path.basename(source)) : dest;
        cpSync(from, into, { recursive: true });
      }
    }
    // `npm ci --omit=dev` in the image; here the repo's own node_modules stands in.
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(app, 'node_modules'));
    const before = filesUnder(app).sort();

    const imageEnv = Object.fromEntries(
      all(finalStage, 'ENV')
        .flatMap((e) => e.args.split(/\s+/))
        .map((pair) => pair.split('=', 2) as [string, string]),
    );
    const chartEnv = podEnvironment(render(['--set', 'config.sqsQueueUrl=http://127.0.0.1:1/queue/invoices']));
    const cmd = JSON.parse(all(finalStage, 'CMD')[0]?.args ?? '[]') as string[];
    const child = spawn(process.execPath, cmd.slice(1), {
      cwd: app,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: root,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        ...imageEnv,
        ...chartEnv,
        // Only what must differ on a shared test machine: the address, and the volume's place.
        PORT: '0',
        HOST: '127.0.0.1',
        DEAD_LETTER_PATH: path.join(volume, POD_NAME, 'dead-letter.jsonl'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const logs: Record<string, unknown>[] = [];
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      let partial = '';
      const timer = setTimeout(() => reject(new Error(`no "listening" within 20 s; stderr: ${stderr}`)), 20_000);
      child.stdout.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === 'listening' && typeof entry.port === 'number') {
            clearTimeout(timer);
            resolve(entry.port);
          }
        }
      });
      void exited.then((code) => reject(new Error(`exited with ${code} before listening; stderr: ${stderr}`)));
    });
    // One keep-alive connection, as a pooled client holds it: every request below travels on it.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (route: string): Promise<{ status: number; connection: string | undefined }> =>
      new Promise((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path: route, agent }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
          })
          .on('error', reject);
      });
    try {
      for (const route of ['/livez', '/readyz']) {
        const res = await get(route);
        assert.equal(res.status, 200, `GET ${route}`);
        assert.equal(res.connection, 'keep-alive');
      }
      child.kill('SIGTERM');
      // The drain answers on the same connection with 503 and `Connection: close`: the client learns that
      // the connection ends, and the service, with no untold connection left, exits at once.
      let res = await get('/readyz');
      for (let i = 0; res.status === 200 && i < 50; i += 1) {
        await new Promise((r) => setTimeout(r, 100));
        res = await get('/readyz');
      }
      assert.deepEqual(res, { status: 503, connection: 'close' }, 'draining, and the connection is told');
    } finally {
      agent.destroy();
      child.kill('SIGTERM');
    }
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 15_000).unref())]);
    assert.equal(code, 0, `exit after SIGTERM; stderr: ${stderr}`);
    assert.ok(logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('drained')), 'it drained before exiting');
    assert.deepEqual(filesUnder(app).sort(), before, 'nothing written inside the (read-only) app folder');
    assert.equal(existsSync(path.join(volume, POD_NAME, 'dead-letter.jsonl')), false, 'no dead letters on a clean stop');
  });
});
