// The service module's face: the wired pipeline and its options.
export type { ServiceOptions } from './options.js';
export { Service } from './service.js';
export { finishShutdown } from './leftovers.js';
export {
  IDS_PER_LINE,
  shutdownReport,
  type JournalVolume,
  type ReportLine,
  type ShutdownFacts,
} from './shutdown-report.js';
export { isLoopback, unsignedExposureWarning } from './unsigned-warning.js';
