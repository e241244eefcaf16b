// The deadletter module's public face: the dead-letter sink, its file implementation, and its record.
export { FileDeadLetterSink, type DeadLetterReason, type DeadLetterRecord, type DeadLetterSink } from './file-sink.js';
