import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import { unitSuffix } from '../../src/telemetry/prometheus-names.js';

describe('Prometheus unit suffixes', () => {
  const cases: [string, DataPointType, string][] = [
    ['s', DataPointType.HISTOGRAM, 'seconds'],
    ['ms', DataPointType.GAUGE, 'milliseconds'],
    ['By', DataPointType.GAUGE, 'bytes'],
    ['1', DataPointType.GAUGE, 'ratio'],
    ['1', DataPointType.SUM, ''],
    ['{invoice}', DataPointType.SUM, ''],
    ['By/s', DataPointType.GAUGE, 'bytes_per_second'],
    ['furlong', DataPointType.GAUGE, ''],
    ['', DataPointType.GAUGE, ''],
  ];
  for (const [unit, type, suffix] of cases) {
    it(`unit "${unit}" on a ${DataPointType[type]} adds "${suffix}"`, () => {
      assert.equal(unitSuffix(unit, type), suffix);
    });
  }
});
