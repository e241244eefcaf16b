import { makeInvoice, postInvoice } from './invoices.js';

/** Posts from `senders` concurrent loops until `stop()`; returns the ids answered 202. */
export function loadGenerator(url: string, senders: number) {
  const accepted: string[] = [];
  const statuses = new Map<number | string, number>();
  let running = true;
  const loops = Array.from({ length: senders }, async () => {
    while (running) {
      try {
        const res = await postInvoice(url, makeInvoice());
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 202) accepted.push(res.body.id as string);
        else if (res.status === 503) await new Promise((r) => setTimeout(r, 20));
      } catch {
        statuses.set('connection_error', (statuses.get('connection_error') ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  });
  return {
    accepted,
    statuses,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
