import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './options.js';

/** Jaeger's query API (the OTLP receiver is on 4318 of the same process). */
export const JAEGER_QUERY_URL = process.env.JAEGER_QUERY_URL ?? 'http://127.0.0.1:16686';

async function serviceNames(): Promise<string[] | undefined> {
  try {
    const res = await fetch(`${JAEGER_QUERY_URL}/api/services`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { data?: string[] | null };
    return body.data ?? [];
  } catch {
    return undefined;
  }
}

export interface JaegerHandle {
  /** Why tracing-on cannot be measured, when it cannot. */
  unavailable?: string;
  /** Stops Jaeger if the bench started it. */
  release: () => void;
}

/**
 * Makes sure a Jaeger answers: reuses a running one, else starts it with otel/jaeger.sh when that
 * script exists (and stops it again on release). Never fails the bench: tracing-on becomes n/a.
 */
export async function ensureJaeger(): Promise<JaegerHandle> {
  if ((await serviceNames()) !== undefined) return { release: () => undefined };
  const script = path.join(REPO_ROOT, 'otel', 'jaeger.sh');
  if (!existsSync(script)) {
    return {
      unavailable: `Jaeger not answering on ${JAEGER_QUERY_URL} and otel/jaeger.sh does not exist yet`,
      release: () => undefined,
    };
  }
  const started = spawnSync('bash', [script, 'start'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120000 });
  if (started.status !== 0 || (await serviceNames()) === undefined) {
    return {
      unavailable: `otel/jaeger.sh start failed (${started.status}): ${(started.stderr ?? '').trim().slice(-300)}`,
      release: () => undefined,
    };
  }
  return {
    release: () => {
      spawnSync('bash', [script, 'stop'], { cwd: REPO_ROOT, stdio: 'ignore', timeout: 30000 });
    },
  };
}

/** Waits until Jaeger lists `serviceName` (spans arrived), up to `timeoutMs`. */
export async function waitForSpans(serviceName: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await serviceNames())?.includes(serviceName)) return true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return false;
}
