export { Invoice, InvoiceLine } from './invoice.js';
export { InvoiceValidator, type ValidationResult, type Violation } from './validator.js';
