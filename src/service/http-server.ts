// The HTTP listener: tracks each connection's open requests and drains them at shutdown without racing clients.
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { answerClientError } from '../intake/client-error.js';

/**
 * Accept queue of the listening socket (Linux caps it at net.core.somaxconn). Node's default, 511,
 * overflows under bursts of new connections (bench/results/2026-11-25.md): every dropped SYN costs the
 * sender a 1 s retransmit, which makes it open still more connections.
 */
const LISTEN_BACKLOG = 4096;

export interface DrainingHttpServerOptions {
  config: Pick<Config, 'port' | 'host' | 'httpRequestTimeoutMs' | 'httpHeadersTimeoutMs' | 'httpKeepAliveTimeoutMs'>;
  logger: Logger;
  /** The app's request handler. */
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => unknown;
  /** True once the service is draining (or stopped): every answer then closes its connection. */
  closing: () => boolean;
}

/** An http.Server that knows which connections are open and answers them `Connection: close` once draining. */
export class DrainingHttpServer {
  private readonly options: DrainingHttpServerOptions;
  private server: http.Server | undefined;
  /** Open client connections, each with its requests not yet answered. */
  private readonly connections = new Map<Socket, number>();
  /** Responses not yet sent: those whose headers are still open get `Connection: close` when the drain starts. */
  private readonly pending = new Set<http.ServerResponse>();

  constructor(options: DrainingHttpServerOptions) {
    this.options = options;
  }

  /** Starts listening; resolves with the bound address. */
  async listen(): Promise<AddressInfo> {
    const { config, handle } = this.options;
    const server = http.createServer(
      {
        requestTimeout: config.httpRequestTimeoutMs,
        headersTimeout: config.httpHeadersTimeoutMs,
        keepAliveTimeout: config.httpKeepAliveTimeoutMs,
        // How often Node checks the two timeouts above; its 30 s default would let slow bodies linger.
        connectionsCheckingInterval: Math.min(1000, config.httpHeadersTimeoutMs),
      },
      (req, res) => {
        this.track(req.socket, res);
        return handle(req, res);
      },
    );
    server.on('connection', (socket: Socket) => {
      this.connections.set(socket, 0);
      socket.once('close', () => this.connections.delete(socket));
    });
    // No count limit in Node's parser (which, depending on the Node version, drops the fields past it
    // silently or answers a bare 431): the app counts them and answers 431 in the contract's shape. The
    // header block stays bounded by Node's 16 KiB maxHeaderSize (past it: the clientError answer).
    server.maxHeadersCount = 0;
    server.on('clientError', answerClientError);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server.address() as AddressInfo;
  }

  /**
   * The drain begins: from now on every response says `Connection: close`. The client learns with its
   * answer that this connection ends, and opens its next one elsewhere (kube-proxy keeps routing an
   * open connection here).
   */
  startDraining(): void {
    for (const res of this.pending) if (!res.headersSent) res.setHeader('Connection', 'close');
  }

  /** Counts a request on its connection until answered; while draining, the answer closes the connection. */
  private track(socket: Socket, res: http.ServerResponse): void {
    if (this.options.closing()) res.setHeader('Connection', 'close');
    this.pending.add(res);
    this.connections.set(socket, (this.connections.get(socket) ?? 0) + 1);
    res.once('close', () => {
      this.pending.delete(res);
      const open = this.connections.get(socket);
      if (open !== undefined) this.connections.set(socket, open - 1);
    });
  }

  /**
   * Stops listening, then waits up to `graceMs` for every connection to end. Answered with
   * `Connection: close`, a connection ends by itself once its response is out. An idle keep-alive
   * connection that was never told is left open: closing it races the client, which may be sending its
   * next request on it at that very moment, and then sees a reset instead of an answer. It gets the
   * rest of the budget to carry one more request (answered 503, `Connection: close`) or to be closed by
   * its client. Only connections still open when `graceMs` runs out are cut, and the log says how many.
   */
  async close(graceMs: number): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    // net.Server's close stops listening only. http.Server's own close() would also close every idle
    // connection at once (Node >= 19), untold ones included: the race described above.
    const listenerClosed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
    const deadline = performance.now() + graceMs;
    while (this.connections.size > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (this.connections.size > 0) {
      const idle = [...this.connections.values()].filter((open) => open === 0).length;
      this.options.logger.warn(
        { connections: this.connections.size, idle, graceMs: Math.round(graceMs) },
        'closing connections still open at the end of the drain budget',
      );
    }
    // Closes what is left (nothing, normally) and stops the timeout checks.
    server.close();
    server.closeAllConnections();
    await listenerClosed;
  }
}
