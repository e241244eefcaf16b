import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  backoffMs,
  classifyCallFailure,
  classifyEntryFailure,
  entrySignalsOverload,
  errorCode,
  signalsOverload,
} from '../../src/delivery/index.js';
import { awsError, networkError } from '../support/doubles.js';

describe('errorCode', () => {
  test('names a network error by its Node code, an AWS error by its name or Code, anything else UnknownError', () => {
    assert.equal(errorCode(networkError('ECONNREFUSED')), 'ECONNREFUSED');
    assert.equal(errorCode(awsError('QueueDoesNotExist', 400)), 'QueueDoesNotExist');
    assert.equal(
      errorCode({ Code: 'AWS.SimpleQueueService.NonExistentQueue' }),
      'AWS.SimpleQueueService.NonExistentQueue',
    );
    assert.equal(errorCode(new Error('plain')), 'UnknownError');
    assert.equal(errorCode('a string'), 'UnknownError');
    assert.equal(errorCode(undefined), 'UnknownError');
  });
});

describe('classifyCallFailure', () => {
  test('network errors are retried', () => {
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']) {
      assert.equal(classifyCallFailure(networkError(code)), 'retry', code);
    }
  });

  test('5xx answers are retried, even when their name is one of the batch-content errors', () => {
    assert.equal(classifyCallFailure(awsError('InternalFailure', 500)), 'retry');
    assert.equal(classifyCallFailure(awsError('ServiceUnavailable', 503)), 'retry');
    assert.equal(classifyCallFailure(awsError('InvalidParameterValue', 500)), 'retry');
    assert.equal(classifyCallFailure(awsError('BatchRequestTooLong', 502)), 'retry');
  });

  test('throttling is retried whatever the status', () => {
    for (const name of ['ThrottlingException', 'RequestThrottled', 'TooManyRequestsException', 'KmsThrottled']) {
      assert.equal(classifyCallFailure(awsError(name, 400)), 'retry', name);
    }
    assert.equal(classifyCallFailure({ Code: 'AWS.SimpleQueueService.RequestThrottled' }), 'retry');
  });

  test('batch-content errors with 400 (or no status) are bisected', () => {
    for (const name of ['BatchRequestTooLong', 'InvalidParameterValue', 'MessageTooLong', 'InvalidMessageContents']) {
      assert.equal(classifyCallFailure(awsError(name, 400)), 'bisect', name);
    }
    assert.equal(classifyCallFailure(awsError('BatchRequestTooLong')), 'bisect');
  });

  test('configuration trouble (access denied, missing queue) and unknown errors are retried, never dropped', () => {
    assert.equal(classifyCallFailure(awsError('AccessDenied', 403)), 'retry');
    assert.equal(classifyCallFailure(awsError('QueueDoesNotExist', 400)), 'retry');
    assert.equal(classifyCallFailure(new Error('something odd')), 'retry');
    assert.equal(classifyCallFailure('not even an error'), 'retry');
  });
});

describe('classifyEntryFailure', () => {
  test('an entry SQS does not blame on the sender is retried', () => {
    assert.equal(classifyEntryFailure({ code: 'InternalError', senderFault: false }), 'retry');
    assert.equal(classifyEntryFailure({ code: 'ServiceUnavailable', senderFault: false }), 'retry');
  });

  test('throttling codes are retried even when marked as the sender fault', () => {
    for (const code of ['ThrottlingException', 'RequestThrottled', 'KMS.ThrottlingException']) {
      assert.equal(classifyEntryFailure({ code, senderFault: true }), 'retry', code);
    }
  });

  test('content errors are dead-lettered even when SQS does not blame the sender (LocalStack, invalid characters)', () => {
    assert.equal(classifyEntryFailure({ code: 'InvalidMessageContents', senderFault: false }), 'dead_letter');
    assert.equal(classifyEntryFailure({ code: 'MessageTooLong', senderFault: false }), 'dead_letter');
  });

  test('other sender faults are dead-lettered', () => {
    for (const code of ['InvalidParameterValue', 'MessageTooLong', 'InvalidMessageContents', 'KMS.DisabledException']) {
      assert.equal(classifyEntryFailure({ code, senderFault: true }), 'dead_letter', code);
    }
  });
});

describe('backoffMs', () => {
  const BASE = 100;
  const CAP = 5000;

  test('the ceiling doubles with each attempt: a fixed random fraction gives a doubling delay', () => {
    const half = (): number => 0.5;
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((attempt) => backoffMs(attempt, BASE, 1_000_000, half)),
      [50, 100, 200, 400, 800, 1600],
    );
  });

  test('the ceiling is capped at maxMs, also for very large attempt counts', () => {
    const almostOne = (): number => 0.999999;
    assert.equal(backoffMs(5, BASE, CAP, almostOne), Math.floor(0.999999 * 3200)); // below the cap
    assert.equal(backoffMs(6, BASE, CAP, almostOne), Math.floor(0.999999 * CAP)); // 6400 capped
    assert.equal(backoffMs(40, BASE, CAP, almostOne), Math.floor(0.999999 * CAP));
    assert.equal(backoffMs(10_000, BASE, CAP, almostOne), Math.floor(0.999999 * CAP));
  });

  test('full jitter: the delay is the random fraction of the ceiling, from 0 up to just below it', () => {
    assert.equal(
      backoffMs(3, BASE, CAP, () => 0),
      0,
    );
    assert.equal(
      backoffMs(3, BASE, CAP, () => 0.25),
      200,
    );
    assert.equal(
      backoffMs(3, BASE, CAP, () => 0.999999),
      799,
    );
  });

  test('with the default random source every delay is a whole number in [0, ceiling)', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i += 1) {
      const delay = backoffMs(2, BASE, CAP);
      assert.ok(Number.isInteger(delay) && delay >= 0 && delay < 400, `delay ${delay} outside [0, 400)`);
      seen.add(delay);
    }
    // Jitter spreads the delays: 2000 draws over 400 values hit far more than a handful.
    assert.ok(seen.size > 100, `only ${seen.size} distinct delays`);
  });
});

describe('signalsOverload (what makes an adaptive concurrency limit back off)', () => {
  test('throttling, 5xx, timeouts and broken connections say SQS is overloaded', () => {
    assert.equal(signalsOverload(awsError('ThrottlingException', 400)), true);
    assert.equal(signalsOverload(awsError('RequestThrottled', 403)), true);
    assert.equal(signalsOverload(awsError('InternalFailure', 500)), true);
    assert.equal(signalsOverload(awsError('ServiceUnavailable', 503)), true);
    assert.equal(signalsOverload(awsError('TimeoutError')), true);
    assert.equal(signalsOverload(networkError('ECONNRESET')), true);
    assert.equal(signalsOverload(networkError('ETIMEDOUT')), true);
  });

  test('4xx about the batch or the configuration say nothing about load', () => {
    assert.equal(signalsOverload(awsError('BatchRequestTooLong', 400)), false);
    assert.equal(signalsOverload(awsError('AccessDenied', 403)), false);
    assert.equal(signalsOverload(awsError('QueueDoesNotExist', 400)), false);
    assert.equal(signalsOverload(new Error('plain')), false);
  });

  test('an entry failed by SQS itself or throttled signals overload; an entry refused for its content does not', () => {
    assert.equal(entrySignalsOverload({ code: 'InternalError', senderFault: false }), true);
    assert.equal(entrySignalsOverload({ code: 'RequestThrottled', senderFault: true }), true);
    assert.equal(entrySignalsOverload({ code: 'InvalidMessageContents', senderFault: true }), false);
    assert.equal(entrySignalsOverload({ code: 'InvalidMessageContents', senderFault: false }), false);
  });
});
