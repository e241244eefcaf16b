import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { InMemoryBatchSender } from '../../src/sender/index.js';
import { REPO_ROOT, startService, tempDir } from '../support/service.js';

// The worked signing examples in docs/api.md, run as written (bash with curl and openssl; node) against a
// service that requires that scheme: each must be accepted.
const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/docs-examples';
const run = promisify(execFile);
const API = readFileSync(path.join(REPO_ROOT, 'docs', 'api.md'), 'utf8');

function example(name: string): string {
  const match = new RegExp(`<!-- example: ${name} -->\\s*\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``).exec(API);
  assert.ok(match?.[1], `docs/api.md has no example "${name}"`);
  return match[1];
}

const SCHEMES = [
  { scheme: 'x-webhook-signature' as const, secret: 'a-plain-shared-secret' },
  { scheme: 'standard-webhooks' as const, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
  { scheme: 'stripe' as const, secret: 'whsec_5x9Cq1yTn0vVh2d6JwzP4kLrA8mE3sBt' },
];

describe('the signing examples in docs/api.md', () => {
  for (const { scheme, secret } of SCHEMES) {
    test(`${scheme}: the shell and the Node example are both accepted`, async () => {
      const sender = new InMemoryBatchSender();
      const running = await startService(
        { sqsQueueUrl: QUEUE_URL, signatureScheme: scheme, webhookSecrets: secret },
        { sender },
      );
      try {
        const env = { ...process.env, URL: running.url, SECRET: secret };
        const script = path.join(tempDir('docs-example-'), 'example.mjs');
        writeFileSync(script, example(`${scheme} node`));
        // Asynchronously: the service answering them runs in this process.
        const shell = await run('bash', ['-euo', 'pipefail', '-c', example(`${scheme} sh`)], { env });
        assert.match(shell.stdout, /"status":"accepted"/, `shell: ${shell.stdout}${shell.stderr}`);
        const node = await run(process.execPath, [script], { env });
        assert.match(node.stdout, /^202 .*"status":"accepted"/, `node: ${node.stdout}${node.stderr}`);
        await running.service.flusher.drain(5000);
        assert.equal(sender.delivered.length, 2);
      } finally {
        await running.stop();
      }
    });
  }
});
