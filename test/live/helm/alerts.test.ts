import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { parse, stringify } from 'yaml';
import { REPO_ROOT, tempDir } from '../../support/service.js';
import { ALL_ON_VALUES, CHART_DIR, one, render, run, tool, type Manifest } from '../../support/chart.js';

const PROMTEST = path.join(REPO_ROOT, 'test', 'live', 'helm', 'alerts.promtest.yaml');
const ALERTS_ON = ['--set', 'alerts.enabled=true'];

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}
interface RuleGroup {
  name: string;
  rules: Rule[];
}

function ruleGroups(manifests: readonly Manifest[]): RuleGroup[] {
  return (one(manifests, 'PrometheusRule').spec as { groups: RuleGroup[] }).groups;
}

/** The rules as a Prometheus rule file beside a copy of the promtool unit tests, in a fresh folder. */
function ruleFiles(args: readonly string[]): { dir: string; rules: string; tests: string } {
  const dir = tempDir('promtool-');
  const rules = path.join(dir, 'rules.yaml');
  writeFileSync(rules, stringify({ groups: ruleGroups(render(args)) }));
  const tests = path.join(dir, 'alerts.promtest.yaml');
  copyFileSync(PROMTEST, tests);
  return { dir, rules, tests };
}

/**
 * The PrometheusRule's shape, from the monitoring.coreos.com/v1 CRD of the Prometheus Operator
 * (kubernetes-validate has no CRD schemas): promtool checks the rules, this checks the wrapper.
 */
const PROMETHEUS_RULE_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'monitoring.coreos.com/v1' },
    kind: { const: 'PrometheusRule' },
    metadata: {
      type: 'object',
      required: ['name'],
      properties: {
        name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 253 },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
    spec: {
      type: 'object',
      required: ['groups'],
      additionalProperties: false,
      properties: {
        groups: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'rules'],
            additionalProperties: false,
            properties: {
              name: { type: 'string', minLength: 1 },
              interval: { type: 'string', pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' },
              rules: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['expr'],
                  additionalProperties: false,
                  properties: {
                    alert: { type: 'string' },
                    record: { type: 'string' },
                    expr: { type: 'string', minLength: 1 },
                    for: { type: 'string', pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' },
                    keep_firing_for: { type: 'string' },
                    labels: { type: 'object', additionalProperties: { type: 'string' } },
                    annotations: { type: 'object', additionalProperties: { type: 'string' } },
                  },
                  oneOf: [{ required: ['alert'] }, { required: ['record'] }],
                },
              },
            },
          },
        },
      },
    },
  },
};

describe('helm chart: alert rules (PrometheusRule)', () => {
  it('off by default; on, the PrometheusRule matches the Prometheus Operator CRD shape', () => {
    assert.equal(render().filter((m) => m.kind === 'PrometheusRule').length, 0);
    const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(PROMETHEUS_RULE_SCHEMA);
    for (const args of [ALERTS_ON, ['-f', ALL_ON_VALUES]]) {
      const rule = one(render(args), 'PrometheusRule');
      assert.ok(validate(rule), JSON.stringify(validate.errors));
    }
    const labels = one(render(['-f', ALL_ON_VALUES]), 'PrometheusRule').metadata.labels ?? {};
    assert.equal(labels.release, 'kube-prometheus-stack', 'the labels Prometheus selects rules by');
  });

  it('promtool check rules accepts them', () => {
    for (const args of [ALERTS_ON, ['-f', ALL_ON_VALUES]]) {
      const { rules } = ruleFiles(args);
      const result = run(tool('promtool'), ['check', 'rules', rules]);
      assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, /SUCCESS: \d+ rules found/);
    }
  });

  it('promtool test rules: every alert fires when it should and stays quiet when it should not', () => {
    const { tests } = ruleFiles(ALERTS_ON);
    const result = run(tool('promtool'), ['test', 'rules', tests]);
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /SUCCESS/);
  });

  it('every alert of the rules has a unit test where it fires and one where it does not', () => {
    const alerts = new Set(ruleGroups(render(ALERTS_ON)).flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : []))));
    const promtest = parse(readFileSync(PROMTEST, 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const cases = promtest.tests.flatMap((t) => t.alert_rule_test);
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      assert.ok(mine.some((c) => c.exp_alerts.length > 0), `${alert} has a case where it fires`);
      assert.ok(mine.some((c) => c.exp_alerts.length === 0), `${alert} has a case where it stays quiet`);
    }
    assert.equal(alerts.size, 8);
  });

  it('the unit tests can fail: with a higher buffer threshold the buffer case does not fire', () => {
    const { tests } = ruleFiles([...ALERTS_ON, '--set-json', 'alerts.bufferFillRatio=0.9']);
    const result = run(tool('promtool'), ['test', 'rules', tests]);
    assert.notEqual(result.status, 0, result.stdout);
    assert.match(result.stdout + result.stderr, /InvoiceWebhookBufferFilling/);
  });

  it('the ack-latency target must be a bucket bound of the histogram', () => {
    const bad = run(tool('helm'), ['template', 'iw', CHART_DIR, '--set', 'alerts.enabled=true', '--set', 'alerts.ackLatency.targetSeconds=0.2']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /targetSeconds/);
  });
});
