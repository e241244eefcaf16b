export {
  WEBHOOK_PATH,
  createApp,
  excludedChecks,
  type AppOptions,
  type Readiness,
  type ReadinessCheck,
} from './app.js';
export { answerClientError } from './client-error.js';
export { TtlDedupeWindow, type TtlDedupeWindowOptions } from './dedupe.js';
export { IntakeError, invalidSignature, shapeErrors } from './errors.js';
export { Intake } from './intake.js';
export { OPENAPI_PATH, openApiDocument, openApiText } from './openapi.js';
export { RedisDedupeWindow, type RedisDedupeWindowOptions } from './redis-dedupe.js';
export { requestId } from './request-id.js';
export {
  HmacSignatureCheck,
  computeSignature,
  parseSecrets,
  signPayload,
  type HmacSignatureCheckOptions,
} from './signature.js';
export {
  StandardWebhooksCheck,
  decodeStandardSecret,
  signStandardWebhook,
  type StandardWebhooksCheckOptions,
} from './standard-webhooks.js';
export {
  WEBHOOK_ID,
  type DedupeWindow,
  type FlushSignal,
  type IntakeJournal,
  type IntakeOptions,
  type RequestHeaders,
  type SignatureCheck,
} from './types.js';
