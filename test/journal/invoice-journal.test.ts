import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TraceFlags } from '@opentelemetry/api';
import { pendingFromRecord, recordOf, type JournalRecord } from '../../src/journal/index.js';

// How a journal record's W3C trace context becomes the recovered invoice's span context (the one
// the send span links to): what is read, what is refused, and that the attributes pass unchanged.

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';

function recordWith(attributes: Record<string, string>): JournalRecord {
  return {
    i: 'inv_1',
    r: 'req-1',
    b: '{"id":"inv_1"}',
    a: { 'invoice-id': 'inv_1', 'request-id': 'req-1', ...attributes },
  };
}

const spanContextOf = (attributes: Record<string, string>) => pendingFromRecord(recordWith(attributes), 0).spanContext;

describe('pendingFromRecord: the trace context a record carries', () => {
  test('a valid version-00 traceparent gives a remote span context with its ids and sampled flag', () => {
    const spanContext = spanContextOf({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` });
    assert.deepEqual(
      { ...spanContext, traceState: undefined },
      { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: true, traceState: undefined },
    );
    assert.equal(spanContextOf({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-00` })?.traceFlags, TraceFlags.NONE);
  });

  test('only the sampled bit of the flags is kept', () => {
    assert.equal(spanContextOf({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-ff` })?.traceFlags, TraceFlags.SAMPLED);
    assert.equal(spanContextOf({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-02` })?.traceFlags, TraceFlags.NONE);
  });

  test('no traceparent, or one that is not W3C trace context, gives no span context', () => {
    for (const traceparent of [
      undefined,
      '',
      'garbage',
      `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`,
      `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`,
      `00-${TRACE_ID}-${SPAN_ID.slice(1)}-01`,
      `00-${TRACE_ID}-${SPAN_ID}-1`,
      `00-${TRACE_ID}-${SPAN_ID}`,
      `00-${TRACE_ID}-${SPAN_ID}-01-extra`,
      `00_${TRACE_ID}_${SPAN_ID}_01`,
      ` 00-${TRACE_ID}-${SPAN_ID}-01`,
      `00-${TRACE_ID}-${SPAN_ID}-01 `,
    ]) {
      const attributes = traceparent === undefined ? {} : { traceparent };
      assert.equal(spanContextOf(attributes), undefined, String(traceparent));
    }
  });

  test('an all-zero trace id or span id is invalid', () => {
    assert.equal(spanContextOf({ traceparent: `00-${'0'.repeat(32)}-${SPAN_ID}-01` }), undefined);
    assert.equal(spanContextOf({ traceparent: `00-${TRACE_ID}-${'0'.repeat(16)}-01` }), undefined);
  });

  test('a version other than 00 gives no span context (the journal only holds what this service wrote)', () => {
    for (const version of ['ff', '01', 'cc']) {
      assert.equal(spanContextOf({ traceparent: `${version}-${TRACE_ID}-${SPAN_ID}-01` }), undefined, version);
    }
    assert.equal(spanContextOf({ traceparent: `01-${TRACE_ID}-${SPAN_ID}-01-future` }), undefined);
  });

  test('tracestate passes through in the attributes, beside the traceparent', () => {
    const attributes = { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: 'vendor=opaque,other=1' };
    const entry = pendingFromRecord(recordWith(attributes), 0);
    assert.equal(entry.attributes.tracestate, 'vendor=opaque,other=1');
    assert.deepEqual(recordOf(entry).a, recordWith(attributes).a);
    assert.equal(entry.spanContext?.traceId, TRACE_ID);
    assert.equal(entry.spanContext?.traceState, undefined);
  });
});
