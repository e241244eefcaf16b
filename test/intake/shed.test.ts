import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { OverloadGuard } from '../../src/intake/overload.js';
import { OVERLOADED_BODY, guardRoute } from '../../src/intake/shed.js';
import type { PipelineMetrics, RejectReason } from '../../src/telemetry/metrics.js';

/** A Node server whose inner handler answers 202 only after `release()` (so requests stay in flight). */
describe('guardRoute (the shed answer, on a real node:http server)', () => {
  const guard = new OverloadGuard({ maxInFlightRequests: 2, maxEventLoopDelayMs: 0, retryAfterSeconds: 7 });
  const rejected: RejectReason[] = [];
  const metrics = { reject: (reason: RejectReason) => rejected.push(reason) } as unknown as PipelineMetrics;
  const held: http.ServerResponse[] = [];
  let inner = 0;
  const server = http.createServer(
    guardRoute(
      (req, res) => {
        inner += 1;
        if (req.url?.startsWith('/webhooks/invoice') === true) {
          held.push(res);
          req.resume();
        } else {
          res.end('probe');
        }
      },
      { guard, path: '/webhooks/invoice', metrics },
    ),
  );
  let base = '';
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const res of held) res.end();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const post = (path = '/webhooks/invoice', headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ id: 'x' }),
    });

  test('past the in-flight cap: 503 overloaded, Retry-After, the caller X-Request-Id, the inner handler never runs', async () => {
    const first = post();
    const second = post('/webhooks/invoice?x=1');
    while (held.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(guard.inFlight, 2);

    const shed = await post('/webhooks/invoice', { 'x-request-id': 'caller-42' });
    assert.equal(shed.status, 503);
    assert.equal(shed.headers.get('retry-after'), '7');
    assert.equal(shed.headers.get('x-request-id'), 'caller-42');
    assert.match(shed.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await shed.json()) as Record<string, unknown>;
    assert.equal(body.error, 'unavailable');
    assert.equal(body.reason, 'overloaded');
    assert.deepEqual(Buffer.from(JSON.stringify(body)), OVERLOADED_BODY);
    assert.equal(inner, 2, 'the shed request never reached the inner handler');
    assert.deepEqual(rejected, ['overloaded']);

    // A request id that is not a sane token is replaced by a fresh one.
    const bad = await post('/webhooks/invoice', { 'x-request-id': 'not sane <script>' });
    assert.equal(bad.status, 503);
    assert.match(bad.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);

    // Probes and other routes pass, whatever the load.
    const probe = await fetch(`${base}/livez`);
    assert.equal(await probe.text(), 'probe');

    // Answering a held request frees its slot.
    for (const res of held.splice(0)) {
      res.statusCode = 202;
      res.end();
    }
    assert.equal((await first).status, 202);
    assert.equal((await second).status, 202);
    while (guard.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const again = post();
    while (held.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    held.splice(0).forEach((res) => res.end());
    assert.equal((await again).status, 200);
  });
});
