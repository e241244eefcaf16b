// The service module's face: the wired pipeline and its options.
export type { ServiceOptions } from './options.js';
export { Service } from './service.js';
export { shutdownReport, type ShutdownContext, type ShutdownReportLine } from './shutdown-report.js';
