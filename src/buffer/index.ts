export { RingBuffer, type PushResult, type RingBufferOptions } from './ring-buffer.js';
export { messageBytes, newPendingInvoice, type DeliveryOutcome, type PendingInvoice } from './pending-invoice.js';
