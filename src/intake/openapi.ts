// The OpenAPI 3.1 document of the webhook route, served at GET /openapi.json and committed as docs/openapi.json.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Invoice, InvoiceLine, MAX_VIOLATIONS } from '../validation/index.js';

/** Where the service serves {@link openApiDocument} (docs/api.md). */
export const OPENAPI_PATH = '/openapi.json';

/** A TypeBox schema as plain JSON Schema (TypeBox's own markers are symbols, which JSON drops). */
function jsonSchema(schema: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}

const REQUEST_ID_HEADER = {
  description:
    "The request's id: the caller's `X-Request-Id` when it is a sane token (`^[A-Za-z0-9._:-]{1,128}$`), otherwise a new UUID.",
  schema: { type: 'string' },
};

const jsonBody = (ref: string, description: string, extraHeaders: Record<string, unknown> = {}) => ({
  description,
  headers: { 'X-Request-Id': { $ref: '#/components/headers/XRequestId' }, ...extraHeaders },
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});

const errorSchema = (code: string, description: string, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  description,
  required: ['error', 'message', ...Object.keys(extra).filter((k) => k !== 'truncated')],
  properties: {
    error: { const: code },
    message: { type: 'string', description: 'Human-readable; never contains a stack trace or a secret.' },
    ...extra,
  },
});

/** Stands for an INVOICE_SCHEMA_FILE schema's own URI when it has no `$id` (see {@link publishedSchema}). */
export const SCHEMA_FILE_ID = 'https://invoice-webhook.invalid/invoice-schema-file.json';

/**
 * An INVOICE_SCHEMA_FILE schema as published: as in the file, with an `$id` added when it has none, so that
 * its own references (`#/$defs/...`) still resolve inside it once it sits in the OpenAPI document.
 */
function publishedSchema(schema: Record<string, unknown>): Record<string, unknown> {
  return schema.$id === undefined ? { $id: SCHEMA_FILE_ID, ...schema } : { ...schema };
}

/**
 * The OpenAPI 3.1 document of the webhook route. Its request body's JSON Schema (draft 2020-12) is exactly
 * the schema the service validates with: the built-in {@link Invoice} schema, or the INVOICE_SCHEMA_FILE one
 * (`invoiceSchema`). Served at `GET /openapi.json`; the built-in one is committed as `docs/openapi.json`
 * (`npm run openapi` regenerates it).
 */
export function openApiDocument(
  version = packageVersion(),
  invoiceSchema?: Record<string, unknown>,
): Record<string, unknown> {
  const invoice = jsonSchema(Invoice);
  // The line item is referenced by name, so it reads as its own schema in generated clients.
  (invoice.properties as { lines: { items: unknown } }).lines.items = { $ref: '#/components/schemas/InvoiceLine' };
  const schemas =
    invoiceSchema === undefined
      ? {
          Invoice: { title: 'Invoice', ...invoice },
          InvoiceLine: { title: 'InvoiceLine', ...jsonSchema(InvoiceLine) },
        }
      : { Invoice: publishedSchema(invoiceSchema) };
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'invoice-webhook',
      version,
      description:
        'Receives invoices and puts each accepted one on an AWS SQS queue, byte for byte. See docs/api.md in the repository.',
    },
    paths: {
      '/webhooks/invoice': {
        post: {
          operationId: 'postInvoice',
          summary: 'Submit one invoice',
          description:
            'Checks the media type, the size, the signature (when WEBHOOK_SECRETS is set), the JSON and the schema, ' +
            'then buffers the invoice for SQS. Any non-2xx answer means nothing was queued.',
          parameters: [
            { name: 'X-Request-Id', in: 'header', required: false, schema: { type: 'string' } },
            {
              name: 'webhook-id',
              in: 'header',
              required: false,
              description:
                'Standard Webhooks message id (required with SIGNATURE_SCHEME=standard-webhooks). Sent to SQS as the ' +
                '`webhook-id` message attribute; with DEDUPE_KEY=webhook-id it identifies repeats.',
              schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,256}$' },
            },
            {
              name: 'webhook-timestamp',
              in: 'header',
              required: false,
              description: 'Standard Webhooks: unix seconds, signed with the body.',
              schema: { type: 'string', pattern: '^[0-9]{1,12}$' },
            },
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/Invoice' } },
            },
          },
          security: [{}, { xWebhookSignature: [] }, { standardWebhooks: [] }, { stripeSignature: [] }],
          responses: {
            '200': jsonBody('Sent', 'ACK_MODE=confirmed: SQS acknowledged the invoice.'),
            '202': jsonBody(
              'Accepted',
              'Buffered for SQS (`accepted`), or a repeat inside the dedupe window (`duplicate`).',
            ),
            '400': jsonBody('MalformedJson', 'The body is not valid UTF-8 JSON, or not a JSON object.'),
            '401': jsonBody('InvalidSignature', 'A signature is required and is missing, wrong or stale.'),
            '405': jsonBody('MethodNotAllowed', 'Only POST is allowed on this route.', {
              Allow: { description: 'The allowed methods.', schema: { type: 'string' } },
            }),
            '408': jsonBody('RequestTimeout', 'The body arrived more slowly than HTTP_REQUEST_TIMEOUT_MS allows.'),
            '413': jsonBody('PayloadTooLarge', 'The body is larger than BODY_LIMIT_BYTES.'),
            '415': jsonBody(
              'UnsupportedMediaType',
              'The content type is not JSON (charset utf-8), or the body is encoded.',
            ),
            '422': jsonBody(
              'Unprocessable',
              `The invoice breaks the schema (at most ${MAX_VIOLATIONS} violations listed) or has no invoice id where ` +
                'INVOICE_ID_POINTER points, or, in confirmed mode, SQS refused it for good.',
            ),
            '503': jsonBody(
              'Unavailable',
              'Overloaded (reason `overloaded`: more requests than the service can take; answered at once), buffer full (SQS slow or down), shutting down, or not confirmed in time. Retry after the given seconds.',
              { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } },
            ),
          },
        },
      },
    },
    components: {
      schemas: {
        ...schemas,
        Accepted: {
          type: 'object',
          required: ['status', 'id', 'requestId'],
          properties: {
            status: { enum: ['accepted', 'duplicate'] },
            id: { type: 'string', description: "The invoice's id." },
            requestId: { type: 'string' },
          },
        },
        Sent: {
          type: 'object',
          required: ['status', 'id', 'requestId', 'messageId'],
          properties: {
            status: { const: 'sent' },
            id: { type: 'string' },
            requestId: { type: 'string' },
            messageId: { type: 'string', description: 'The SQS MessageId.' },
          },
        },
        MalformedJson: errorSchema('malformed_json', 'Not UTF-8 JSON, or not an object.'),
        InvalidSignature: errorSchema('invalid_signature', 'Signature missing, wrong or stale.'),
        MethodNotAllowed: errorSchema('method_not_allowed', 'Another method than POST.'),
        RequestTimeout: errorSchema('request_timeout', 'The body arrived too slowly.'),
        PayloadTooLarge: errorSchema('payload_too_large', 'Body over BODY_LIMIT_BYTES.'),
        UnsupportedMediaType: errorSchema('unsupported_media_type', 'Not application/json, or a Content-Encoding.'),
        Unprocessable: {
          oneOf: [{ $ref: '#/components/schemas/InvalidInvoice' }, { $ref: '#/components/schemas/RejectedBySqs' }],
        },
        InvalidInvoice: errorSchema('invalid_invoice', 'Schema violations. The answer is never over 64 KiB.', {
          details: {
            type: 'array',
            maxItems: MAX_VIOLATIONS,
            items: {
              type: 'object',
              required: ['path', 'message'],
              properties: {
                path: { type: 'string', description: 'JSON pointer into the request body.' },
                message: { type: 'string' },
              },
            },
          },
          truncated: { const: true, description: `Present when there were more than ${MAX_VIOLATIONS} violations.` },
        }),
        RejectedBySqs: errorSchema('rejected_by_sqs', 'ACK_MODE=confirmed: SQS refused the invoice for good.', {
          reason: { type: 'string', description: 'The SQS error code.' },
        }),
        Unavailable: errorSchema('unavailable', 'Nothing was queued; retry after Retry-After seconds.', {
          reason: {
            type: 'string',
            description:
              '`overloaded` when shed past the rate the service sustains (CONTRACT §12); otherwise a sentence.',
          },
        }),
      },
      headers: {
        XRequestId: REQUEST_ID_HEADER,
        RetryAfter: { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } },
      },
      securitySchemes: {
        xWebhookSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Webhook-Signature',
          description:
            'SIGNATURE_SCHEME=x-webhook-signature (default), when WEBHOOK_SECRETS is set: ' +
            '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`; any configured secret may match; ' +
            '`t` at most SIGNATURE_TOLERANCE_SECONDS (300) away.',
        },
        standardWebhooks: {
          type: 'apiKey',
          in: 'header',
          name: 'webhook-signature',
          description:
            'SIGNATURE_SCHEME=standard-webhooks (standardwebhooks.com), when WEBHOOK_SECRETS holds `whsec_<base64 key>` ' +
            'secrets: headers `webhook-id`, `webhook-timestamp` and `webhook-signature` = space-separated ' +
            '`v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<raw body>">`; any entry may match any secret; ' +
            'the timestamp at most SIGNATURE_TOLERANCE_SECONDS (300) away.',
        },
        stripeSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'Stripe-Signature',
          description:
            'SIGNATURE_SCHEME=stripe, when WEBHOOK_SECRETS holds Stripe endpoint secrets (`whsec_...`): ' +
            '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, the HMAC keyed by the whole secret string; ' +
            'several `v1` may be given and any may match any secret; `t` at most SIGNATURE_TOLERANCE_SECONDS (300) away.',
        },
      },
    },
  };
}

/** The service's version, from package.json (two folders above dist/src, as in the image). */
function packageVersion(): string {
  const file = path.resolve(__dirname, '..', '..', '..', 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** The document as committed in docs/openapi.json: two-space JSON and a final newline. */
export function openApiText(document = openApiDocument()): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
