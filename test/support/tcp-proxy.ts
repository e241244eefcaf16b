import net from 'node:net';

/**
 * How the proxy treats new connections:
 * - pass: forward to the target
 * - refuse: stop listening (connection refused), as if SQS were gone
 * - reset: accept, then drop the connection at once
 * - hang: accept and never answer (client timeouts fire)
 * - http-500 / throttle: answer every request with a canned SQS-style error
 */
export type ProxyMode = 'pass' | 'refuse' | 'reset' | 'hang' | 'http-500' | 'throttle';

const CANNED: Record<'http-500' | 'throttle', string> = {
  'http-500': cannedResponse(500, 'InternalFailure', 'injected by the test proxy'),
  throttle: cannedResponse(400, 'ThrottlingException', 'Rate exceeded (injected by the test proxy)'),
};

function cannedResponse(status: number, type: string, message: string): string {
  const body = JSON.stringify({ __type: `com.amazonaws.sqs#${type}`, message });
  return (
    `HTTP/1.1 ${status} Error\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-query-error: ${type};Sender\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}

/**
 * A small TCP proxy of the tests' own, put between the service and LocalStack so SQS can be cut off,
 * slowed or made to fail. Listens on 127.0.0.1 only, on a port that stays the same across modes.
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private mode: ProxyMode = 'pass';
  /** Extra delay before each chunk is forwarded in pass mode. */
  delayMs = 0;
  /**
   * Pass mode: holds every chunk from the target back by this long, without slowing the stream
   * behind it (the benchmark's "SQS is 30 ms further away"): one request and one answer per call
   * add exactly this much to each call.
   */
  answerDelayMs = 0;
  /** Connections accepted so far. */
  connections = 0;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static forUrl(url: string): TcpProxy {
    const u = new URL(url);
    return new TcpProxy(u.hostname, Number(u.port || (u.protocol === 'https:' ? 443 : 80)));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((client) => this.onConnection(client));
    this.server = server;
    // The first port is chosen below the kernel's ephemeral range (ip_local_port_range starts at 32768 by
    // default). A port taken from that range can, after 'refuse' closed it, be held by any outgoing
    // connection on the machine (a keep-alive to LocalStack lasts minutes), and listening again fails.
    const chooseFirst = this.port === 0;
    for (let attempt = 0; ; attempt += 1) {
      const port = chooseFirst && this.port === 0 ? 20000 + Math.floor(Math.random() * 12000) : this.port;
      try {
        await new Promise<void>((resolve, reject) => {
          const onError = (error: Error): void => {
            server.off('listening', onListening);
            reject(error);
          };
          const onListening = (): void => {
            server.off('error', onError);
            resolve();
          };
          server.once('error', onError);
          server.once('listening', onListening);
          server.listen(port, '127.0.0.1');
        });
        this.port = (server.address() as net.AddressInfo).port;
        return;
      } catch (error) {
        // A first choice that is busy: another random one. The same port again (after 'refuse'): wait a
        // moment for whoever holds it.
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 100) {
          this.server = undefined;
          throw error;
        }
        if (!chooseFirst) await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Switches behaviour; existing connections are cut so the change applies at once. */
  async setMode(mode: ProxyMode): Promise<void> {
    this.mode = mode;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (mode === 'refuse') await this.stopListening();
    else await this.start();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await this.stopListening();
  }

  private async stopListening(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private onConnection(client: net.Socket): void {
    this.connections += 1;
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    const mode = this.mode;
    if (mode === 'reset') {
      client.destroy();
      return;
    }
    if (mode === 'hang') return;
    if (mode === 'http-500' || mode === 'throttle') {
      client.once('data', () => client.end(CANNED[mode]));
      return;
    }
    const upstream = net.connect(this.targetPort, this.targetHost);
    this.sockets.add(upstream);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk: Buffer) => {
        if (this.delayMs > 0) {
          from.pause();
          setTimeout(() => {
            to.write(chunk);
            from.resume();
          }, this.delayMs);
        } else {
          to.write(chunk);
        }
      });
    forward(client, upstream);
    if (this.answerDelayMs > 0) {
      // Timers of equal delay fire in the order they were set, so the chunks keep their order.
      upstream.on('data', (chunk: Buffer) => {
        setTimeout(() => client.write(chunk), this.answerDelayMs);
      });
    } else {
      forward(upstream, client);
    }
  }
}
