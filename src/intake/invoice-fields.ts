// Where intake finds the invoice id and the FIFO ids in a body: JSON pointers (INVOICE_ID_POINTER, SQS_FIFO_*).
import { parsePointer, resolvePointer, type JsonPointer } from '../validation/json-pointer.js';
import { invalidInvoice } from './errors.js';

export interface InvoiceFieldPointers {
  /** JSON pointer to the invoice id. Default: `/id`. */
  invoiceId?: string;
  /** FIFO queues only: pointers to the MessageGroupId and the MessageDeduplicationId. */
  fifo?: { groupId: string; deduplicationId: string } | undefined;
}

/** Reads the fields the service itself uses from an accepted body, by JSON pointer (RFC 6901). */
export class InvoiceFields {
  private readonly idText: string;
  private readonly id: JsonPointer;
  private readonly fifo: { groupId: JsonPointer; deduplicationId: JsonPointer } | undefined;

  /** Throws a RangeError for a malformed pointer (the configuration checks them first). */
  constructor(pointers: InvoiceFieldPointers = {}) {
    this.idText = pointers.invoiceId ?? '/id';
    this.id = parsePointer(this.idText);
    this.fifo =
      pointers.fifo === undefined
        ? undefined
        : {
            groupId: parsePointer(pointers.fifo.groupId),
            deduplicationId: parsePointer(pointers.fifo.deduplicationId),
          };
  }

  /** The invoice id when the body has one (for the validate span, before the schema has spoken). */
  peekInvoiceId(body: unknown): string | undefined {
    const value = resolvePointer(body, this.id);
    return typeof value === 'string' && value !== '' ? value : undefined;
  }

  /** The invoice id of a valid body; a 422 naming the pointer when it is not a non-empty string there. */
  invoiceId(body: unknown): string {
    const id = this.peekInvoiceId(body);
    if (id !== undefined) return id;
    const found = resolvePointer(body, this.id);
    const why = found === undefined ? 'is required' : 'must be a non-empty string';
    throw invalidInvoice([{ path: this.idText, message: `${why} (the invoice id, INVOICE_ID_POINTER)` }]);
  }

  /**
   * FIFO queues: MessageGroupId and MessageDeduplicationId, each a string or number (as text) where its
   * pointer points; anything else (absent, empty, an object) leaves it unset, as the _FIELD settings did.
   */
  fifoIds(body: unknown): { messageGroupId?: string; messageDeduplicationId?: string } {
    if (this.fifo === undefined) return {};
    const groupId = scalar(resolvePointer(body, this.fifo.groupId));
    const dedupId = scalar(resolvePointer(body, this.fifo.deduplicationId));
    return {
      ...(groupId ? { messageGroupId: groupId } : {}),
      ...(dedupId ? { messageDeduplicationId: dedupId } : {}),
    };
  }
}

function scalar(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}
