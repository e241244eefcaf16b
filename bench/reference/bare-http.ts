// The ceiling: a bare node:http server that reads the body and answers 202, nothing else. Whatever
// the real service loses against this is the cost of Koa, validation, buffering and telemetry.
// Env: PORT, HOST. GET /metrics reports the requests answered, in the service's series names.
import http from 'node:http';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const ACCEPTED = Buffer.from('{"status":"accepted"}');
let accepted = 0;

const server = http.createServer((req, res) => {
  if (req.method === 'POST') {
    req.resume();
    req.once('end', () => {
      accepted += 1;
      res.writeHead(202, { 'Content-Type': 'application/json', 'Content-Length': ACCEPTED.length });
      res.end(ACCEPTED);
    });
    return;
  }
  if (req.url === '/metrics') {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(`webhook_invoices_accepted_total ${accepted}\nwebhook_buffer_depth 0\n`);
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end('{"status":"ok"}');
});
// Match the service's keep-alive so both keep vegeta's connections between steps alike.
server.keepAliveTimeout = 65000;

server.listen(port, host);
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
