export { FileDeadLetterSink, type DeadLetterReason, type DeadLetterRecord, type DeadLetterSink } from './file-sink.js';
