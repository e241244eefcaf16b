// The validation module's public face: the invoice schema, JSON pointers, INVOICE_SCHEMA_FILE, the validator.
export { Invoice, InvoiceLine } from './invoice.js';
export { escapePointerToken, parsePointer, resolvePointer, type JsonPointer } from './json-pointer.js';
export {
  SCHEMA_FILE_MAX_BYTES,
  SchemaFileError,
  SchemaFileValidator,
  loadSchemaFile,
  type LoadedSchema,
} from './schema-file.js';
export {
  InvoiceValidator,
  type BodyValidator,
  MAX_VIOLATIONS,
  MAX_VIOLATIONS_BYTES,
  type ValidationResult,
  type Violation,
} from './validator.js';
