import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT } from '../support/service.js';

// The documentation lives in the repository: every relative link in every tracked markdown file must
// resolve to a file inside it (a user's clone has nothing else), and every #anchor to a heading there.

/** Tracked and not-yet-committed markdown files (git ls-files honours .gitignore). */
const MARKDOWN = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], {
  cwd: REPO_ROOT,
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f !== '' && existsSync(path.join(REPO_ROOT, f)));

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const text = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const [, heading] of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = (heading ?? '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

/** [target, line] of every inline link and image outside code. */
function links(markdown: string): [string, number][] {
  const out: [string, number][] = [];
  let fenced = false;
  markdown.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) return;
    const prose = line.replace(/`[^`]*`/g, '');
    for (const [, target] of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      out.push([target ?? '', i + 1]);
  });
  return out;
}

describe('markdown links', () => {
  test('there are markdown files to check, the API reference among them', () => {
    assert.ok(MARKDOWN.includes('README.md') && MARKDOWN.includes('docs/api.md'), MARKDOWN.join(', '));
  });

  test('every relative link resolves inside the repository, every #anchor to a heading', () => {
    const broken: string[] = [];
    for (const file of MARKDOWN) {
      const source = readFileSync(path.join(REPO_ROOT, file), 'utf8');
      for (const [target, line] of links(source)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: ...
        const [rawPath = '', anchor] = target.split('#', 2);
        const resolved =
          rawPath === ''
            ? path.join(REPO_ROOT, file)
            : path.resolve(path.dirname(path.join(REPO_ROOT, file)), decodeURI(rawPath));
        const where = `${file}:${line} -> ${target}`;
        if (path.relative(REPO_ROOT, resolved).startsWith('..')) {
          broken.push(`${where}: points outside the repository`);
        } else if (!existsSync(resolved)) {
          broken.push(`${where}: no such file`);
        } else if (anchor !== undefined && anchor !== '') {
          if (statSync(resolved).isDirectory() || !resolved.endsWith('.md'))
            broken.push(`${where}: anchor into a non-markdown file`);
          else if (!anchors(readFileSync(resolved, 'utf8')).has(anchor))
            broken.push(`${where}: no heading with that anchor`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });

  test('the check sees a broken link and a link out of the repository', () => {
    const sample = 'see [a](../outside/SPEC.md), [b](docs/api.md#routes) and `[c](nope.md)`';
    assert.deepEqual(
      links(sample).map(([t]) => t),
      ['../outside/SPEC.md', 'docs/api.md#routes'],
    );
    assert.ok(anchors('## `POST /webhooks/invoice`\n## Repeats (dedupe)').has('post-webhooksinvoice'));
    assert.ok(anchors('## Repeats (dedupe)').has('repeats-dedupe'));
  });
});

describe('docs/api.md', () => {
  test('the README links to it, and it links the settings it names to docs/configuration.md', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    assert.match(readme, /\]\(docs\/api\.md\)/);
    const api = readFileSync(path.join(REPO_ROOT, 'docs', 'api.md'), 'utf8');
    assert.match(api, /\]\(configuration\.md#environment\)/);
  });
});
