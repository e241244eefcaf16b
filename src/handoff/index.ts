// The hand-off of shutdown leftovers to a Ready peer, and the shutdown report: the module's public surface.
export { HandoffReceiver, type HandoffAnswer, type HandoffJournal, type HandoffReceiverOptions } from './receiver.js';
export { handOffJournal, type HandOffOptions, type HandOffResult } from './sender.js';
export { IDS_PER_LINE, shutdownReport, type JournalVolume, type ReportLine, type ShutdownFacts } from './report.js';
export { finishShutdown } from './shutdown.js';
export { bearer, bearerMatches } from './token.js';
export { HANDOFF_PATH, HandoffRequestSchema, chunksOf, type HandoffRequest } from './wire.js';
