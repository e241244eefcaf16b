// Intake's configurable parts, built from the config: the SIGNATURE_SCHEME check and the INVOICE_SCHEMA_FILE schema.
import type { Config } from '../config/index.js';
import {
  HmacSignatureCheck,
  StandardWebhooksCheck,
  StripeSignatureCheck,
  parseSecrets,
  type SignatureCheck,
} from '../intake/index.js';
import { InvoiceValidator, loadSchemaFile, type BodyValidator } from '../validation/index.js';

/** The check of `config.signatureScheme` with `config.webhookSecrets`; none while the secrets are empty. */
export function signatureCheck(config: Config): SignatureCheck | undefined {
  const secrets = parseSecrets(config.webhookSecrets);
  if (secrets.length === 0) return undefined;
  const options = { secrets, toleranceSeconds: config.signatureToleranceSeconds };
  switch (config.signatureScheme) {
    case 'standard-webhooks':
      return new StandardWebhooksCheck(options);
    case 'stripe':
      return new StripeSignatureCheck(options);
    default:
      return new HmacSignatureCheck(options);
  }
}

/**
 * The validator, and the schema GET /openapi.json publishes when it is not the built-in one: the
 * INVOICE_SCHEMA_FILE file, read and compiled here, once. Throws a SchemaFileError naming the file.
 */
export function invoiceSchema(config: Config): { validator: BodyValidator; published?: Record<string, unknown> } {
  if (config.invoiceSchemaFile === '') return { validator: new InvoiceValidator() };
  const loaded = loadSchemaFile(config.invoiceSchemaFile);
  return { validator: loaded.validator, published: loaded.schema };
}
