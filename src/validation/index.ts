export { Invoice, InvoiceLine } from './invoice.js';
export {
  InvoiceValidator,
  MAX_VIOLATIONS,
  MAX_VIOLATIONS_BYTES,
  type ValidationResult,
  type Violation,
} from './validator.js';
