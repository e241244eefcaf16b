// The service module's face: the wired pipeline and its options.
export { Service, type ServiceOptions } from './service.js';
export { shutdownReport, type ShutdownContext, type ShutdownReportLine } from './shutdown-report.js';
