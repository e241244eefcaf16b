// The buffer module's public face: the ring buffer and the pending invoice it holds.
export { RingBuffer, type PushResult, type RingBufferOptions } from './ring-buffer.js';
export { messageBytes, newPendingInvoice, type DeliveryOutcome, type PendingInvoice } from './pending-invoice.js';
