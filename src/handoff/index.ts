// The hand-off of shutdown leftovers to a Ready peer (route, client, token, wire format): the module's public surface.
export { HandoffReceiver, type HandoffAnswer, type HandoffJournal, type HandoffReceiverOptions } from './receiver.js';
export { handOffJournal, type HandOffOptions, type HandOffResult } from './sender.js';
export { bearer, bearerMatches } from './token.js';
export { HANDOFF_PATH, HandoffRequestSchema, chunksOf, type HandoffRequest } from './wire.js';
