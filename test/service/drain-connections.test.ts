import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { InMemoryBatchSender } from '../../src/sender/index.js';
import { makeInvoice } from '../support/invoices.js';
import { startService } from '../support/service.js';

/** A raw keep-alive HTTP/1.1 client on one socket: what a pooled client does, with nothing hidden. */
class RawConnection {
  private readonly socket: net.Socket;
  private received = '';
  private waiter: (() => void) | undefined;
  closed = false;
  readonly ended: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.received += chunk;
      this.waiter?.();
    });
    this.ended = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        this.waiter?.();
        resolve();
      }),
    );
    socket.on('error', () => undefined);
  }

  static open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: hostname, port: Number(port) }, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends one request and reads its whole response (Content-Length framed). */
  async request(method: string, path: string, body = ''): Promise<{ status: number; headers: Map<string, string> }> {
    this.received = '';
    this.socket.write(
      `${method} ${path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    for (;;) {
      const end = this.received.indexOf('\r\n\r\n');
      if (end >= 0) {
        const [statusLine = '', ...lines] = this.received.slice(0, end).split('\r\n');
        const headers = new Map(
          lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
        );
        const length = Number(headers.get('content-length') ?? 0);
        if (this.received.length >= end + 4 + length) return { status: Number(statusLine.split(' ')[1]), headers };
      }
      if (this.closed) throw new Error(`connection closed before a whole response (got ${this.received.length} bytes)`);
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

// About HTTP connections, not SQS: the in-memory sender takes SQS's place.
const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/drain-connections';

describe('connections during the drain', () => {
  it('answers with Connection: close and leaves idle keep-alive connections open until they carry a request', async () => {
    // The service's own default grace (the rest of the drain budget), not the test helper's short one.
    const svc = await startService(
      { sqsQueueUrl: QUEUE_URL, shutdownTimeoutMs: 3000 },
      { idleConnectionGraceMs: undefined, sender: new InMemoryBatchSender() },
    );
    const used = await RawConnection.open(svc.url);
    const idle = await RawConnection.open(svc.url);
    try {
      for (const conn of [used, idle]) {
        const res = await conn.request('POST', '/webhooks/invoice', JSON.stringify(makeInvoice()));
        assert.equal(res.status, 202);
        assert.notEqual(res.headers.get('connection'), 'close', 'before the drain, connections are kept alive');
      }
      const started = performance.now();
      const stopped = svc.stop();
      // The buffer is empty, so the drain itself is over at once: an immediate close of idle sockets
      // would happen now. Neither connection has been told, so both must stay open.
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(used.closed, false, 'an idle connection that was never told must not be cut');
      assert.equal(idle.closed, false);

      const late = await used.request('POST', '/webhooks/invoice', JSON.stringify(makeInvoice()));
      assert.equal(late.status, 503);
      assert.match(late.headers.get('retry-after') ?? '', /^\d+$/);
      assert.equal(late.headers.get('connection'), 'close', 'the answer tells the client the connection ends');
      await used.ended;

      // The other one never carries a request: it is closed only when the budget runs out, and logged.
      await stopped;
      const tookMs = performance.now() - started;
      assert.ok(tookMs >= 2500, `the untold connection had the drain budget (stop took ${Math.round(tookMs)} ms)`);
      await idle.ended;
      const cut = svc.logs.find((l) => l.msg === 'closing connections still open at the end of the drain budget');
      assert.equal(cut?.connections, 1);
      assert.equal(cut?.idle, 1);
    } finally {
      used.destroy();
      idle.destroy();
      await svc.stop();
    }
  });

  it('closes at once when every connection was told', async () => {
    // The service's own default grace here too: a stop that is quick although the budget is long.
    const svc = await startService(
      { sqsQueueUrl: QUEUE_URL, shutdownTimeoutMs: 10000 },
      { idleConnectionGraceMs: undefined, sender: new InMemoryBatchSender() },
    );
    const conn = await RawConnection.open(svc.url);
    try {
      assert.equal((await conn.request('GET', '/livez')).status, 200);
      const started = performance.now();
      const stopped = svc.stop();
      const res = await conn.request('GET', '/readyz');
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('connection'), 'close');
      await conn.ended;
      await stopped;
      const tookMs = performance.now() - started;
      assert.ok(tookMs < 5000, `no connection left to wait for, yet stop took ${Math.round(tookMs)} ms`);
      assert.equal(
        svc.logs.some((l) => l.msg === 'closing connections still open at the end of the drain budget'),
        false,
      );
    } finally {
      conn.destroy();
      await svc.stop();
    }
  });
});
