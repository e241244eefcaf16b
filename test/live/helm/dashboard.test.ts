import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { sampleNames } from '../../support/exposition.js';
import { exerciseLiveService, type LiveMetrics } from '../../support/live-metrics.js';
import { suiteScope } from '../../support/pipeline.js';
import { ALL_ON_VALUES, CHART_DIR, ofKind, render } from '../../support/chart.js';

interface Target {
  expr: string;
  datasource?: { uid: string };
}
interface Panel {
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; definition?: string }[] };
}

const DASHBOARD_FILE = path.join(CHART_DIR, 'dashboards', 'invoice-webhook.json');
const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
const graphs = dashboard.panels.filter((p) => p.type !== 'row');

/** Metric names a PromQL expression selects: every `name{...}` and `label_values(name...)`. */
function metricNames(expr: string): string[] {
  const selected = [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((m) => m[1] as string);
  const labelValues = [...expr.matchAll(/label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)/g)].map((m) => m[1] as string);
  return [...selected, ...labelValues];
}

describe('helm chart: Grafana dashboard', () => {
  it('off by default; on, a ConfigMap with the sidecar label carrying the dashboard file as it is', () => {
    assert.equal(ofKind(render(), 'ConfigMap').filter((m) => m.metadata.name.endsWith('-dashboard')).length, 0);
    const configMaps = ofKind(render(['-f', ALL_ON_VALUES]), 'ConfigMap').filter((m) => m.metadata.name.endsWith('-dashboard'));
    assert.equal(configMaps.length, 1);
    const configMap = configMaps[0];
    assert.ok(configMap);
    assert.equal(configMap.metadata.labels?.grafana_dashboard, '1');
    assert.deepEqual(JSON.parse(configMap.data?.['invoice-webhook.json'] ?? ''), dashboard);
  });

  it('shows the pipeline left to right, rows top to bottom, without overlapping panels', () => {
    const order = [...graphs].sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x).map((p) => p.title);
    assert.deepEqual(order, [
      'Intake by status',
      'Accepted and rejected',
      'Ack latency',
      'Buffer depth',
      'Time in the buffer',
      'Batch fill',
      'SQS call latency and rate',
      'SQS failures and retries',
      'Dead letters',
      'Event-loop delay',
      'Heap and GC',
    ]);
    const cells = new Set<string>();
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos;
      assert.ok(x >= 0 && x + w <= 24, `${panel.title} fits the 24 columns`);
      for (let row = y; row < y + h; row++)
        for (let col = x; col < x + w; col++) {
          assert.ok(!cells.has(`${row}:${col}`), `${panel.title} overlaps another panel`);
          cells.add(`${row}:${col}`);
        }
    }
  });

  it('every query uses the data source variable and selects at least one metric', () => {
    for (const panel of graphs) {
      assert.ok((panel.targets ?? []).length > 0, `${panel.title} has queries`);
      for (const target of panel.targets ?? []) {
        assert.equal(target.datasource?.uid, '${datasource}', `${panel.title}: data source variable`);
        assert.ok(metricNames(target.expr).length > 0, `${panel.title}: ${target.expr} names a metric`);
        assert.match(target.expr, /namespace="\$namespace", job="\$job"/, `${panel.title}: scoped to one release`);
      }
    }
  });

  describe('against a live /metrics', () => {
    const scope = suiteScope('live-metrics');
    let live: LiveMetrics;
    before(async () => {
      live = await exerciseLiveService(scope);
    });

    it('every metric a panel or variable query names is one the running service exports', () => {
      const exported = sampleNames(live.exposition);
      const queries = [
        ...graphs.flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr }))),
        ...dashboard.templating.list.flatMap((v) => (v.definition ? [{ where: `$${v.name}`, expr: v.definition }] : [])),
      ];
      const missing = queries.flatMap(({ where, expr }) =>
        metricNames(expr)
          .filter((name) => !exported.has(name))
          .map((name) => `${where}: ${name}`),
      );
      assert.deepEqual(missing, []);
      assert.ok(queries.length >= 20, `${queries.length} queries checked`);
    });
  });
});
