import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { escapePointerToken, parsePointer, resolvePointer } from '../../src/validation/json-pointer.js';

// RFC 6901 section 5's example document and its pointers.
const RFC_DOCUMENT = {
  foo: ['bar', 'baz'],
  '': 0,
  'a/b': 1,
  'c%d': 2,
  'e^f': 3,
  'g|h': 4,
  'i\\j': 5,
  'k"l': 6,
  ' ': 7,
  'm~n': 8,
};

describe('JSON pointers (RFC 6901)', () => {
  test("the RFC's section 5 examples resolve as it says", () => {
    const expected: [string, unknown][] = [
      ['', RFC_DOCUMENT],
      ['/foo', ['bar', 'baz']],
      ['/foo/0', 'bar'],
      ['/', 0],
      ['/a~1b', 1],
      ['/c%d', 2],
      ['/e^f', 3],
      ['/g|h', 4],
      ['/i\\j', 5],
      ['/k"l', 6],
      ['/ ', 7],
      ['/m~0n', 8],
    ];
    for (const [pointer, value] of expected)
      assert.deepEqual(resolvePointer(RFC_DOCUMENT, parsePointer(pointer)), value);
  });

  test('~01 is "~1" (unescaped ~1 first, then ~0)', () => {
    assert.deepEqual(parsePointer('/~01'), ['~1']);
    assert.equal(resolvePointer({ '~1': 'x', '/': 'y' }, parsePointer('/~01')), 'x');
  });

  test('absent values, bad array indexes and inherited properties resolve to nothing', () => {
    const doc = { data: { object: { customer: 'cus_1', lines: ['a'] } } };
    assert.equal(resolvePointer(doc, parsePointer('/data/object/customer')), 'cus_1');
    for (const pointer of ['/data/missing', '/data/object/lines/1', '/data/object/lines/01', '/data/object/lines/-']) {
      assert.equal(resolvePointer(doc, parsePointer(pointer)), undefined, pointer);
    }
    assert.equal(resolvePointer(doc, parsePointer('/data/object/customer/length')), undefined);
    assert.equal(resolvePointer(doc, parsePointer('/constructor')), undefined);
    assert.equal(resolvePointer(doc, parsePointer('/__proto__')), undefined);
    assert.equal(resolvePointer(doc, parsePointer('/data/toString')), undefined);
  });

  test('malformed pointers are refused with a reason', () => {
    assert.throws(() => parsePointer('id'), /starts with "\/"/);
    assert.throws(() => parsePointer('/a~2'), /~/);
    assert.throws(() => parsePointer('/a~'), /~/);
  });

  test('property: escaping any property name and resolving it finds that property', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 4 }), fc.jsonValue(), (names, leaf) => {
        let doc: unknown = leaf;
        for (const name of [...names].reverse()) doc = { [name]: doc };
        const pointer = `/${names.map(escapePointerToken).join('/')}`;
        assert.deepEqual(parsePointer(pointer), names);
        // __proto__ as a computed key is an own property here, so it resolves like any other name.
        assert.deepEqual(resolvePointer(doc, parsePointer(pointer)), leaf);
      }),
    );
  });
});
