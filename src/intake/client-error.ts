// Answers what Node's HTTP parser refuses before intake sees a request (a body or headers arriving too
// slowly, a header block over 16 KiB), in the contract's shape: a JSON error body and an X-Request-Id.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

const ANSWERS: Record<string, [status: number, error: string, message: string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [
    408,
    'request_timeout',
    'the request did not arrive in time (HTTP_REQUEST_TIMEOUT_MS, HTTP_HEADERS_TIMEOUT_MS)',
  ],
  HPE_HEADER_OVERFLOW: [431, 'request_header_fields_too_large', 'the header block is larger than 16 KiB'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'payload_too_large', 'the chunk extensions are too large'],
};

/**
 * The server's `clientError` listener. Does what Node does without one (answer once, if nothing was
 * written yet, then close), with the body and headers every other answer has. Anything else the parser
 * refuses is a malformed request: `400 bad_request`.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const written = (socket as Duplex & { bytesWritten?: number }).bytesWritten ?? 0;
  if (error.code === 'ECONNRESET' || !socket.writable || written > 0) {
    socket.destroy();
    return;
  }
  const [status, code, message] = ANSWERS[error.code ?? ''] ?? [400, 'bad_request', 'the HTTP request is malformed'];
  const body = JSON.stringify({ error: code, message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${randomUUID()}\r\nConnection: close\r\n\r\n${body}`,
  );
}
