import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT } from '../support/service.js';

// Issue 21's rules for src/: every file opens with a comment that says its one job, and no file is
// over 300 lines. A file that breaks either is named, so the fix is obvious.
const MAX_LINES = 300;

/** Every .ts file under src/, as repository paths (src/intake/app.ts). */
function sourceFiles(dir = 'src'): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })
    .flatMap((entry) => {
      const rel = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) return sourceFiles(rel);
      return entry.name.endsWith('.ts') ? [rel] : [];
    })
    .sort();
}

/** Lines as `wc -l` counts them: a final newline ends the last line rather than starting another. */
function lineCount(text: string): number {
  const lines = text.split('\n');
  return text.endsWith('\n') ? lines.length - 1 : lines.length;
}

const files = sourceFiles().map((file) => ({ file, text: readFileSync(path.join(REPO_ROOT, file), 'utf8') }));

describe('src/ files (issue 21)', () => {
  test('the walk finds the source files', () => {
    // Guards the two checks below against passing on an empty list.
    assert.ok(files.length > 50, `expected the src/ tree, found ${files.length} .ts files`);
    assert.ok(files.some(({ file }) => file === 'src/main.ts'));
    assert.ok(files.some(({ file }) => file === 'src/intake/app.ts'));
  });

  test('every file opens with a comment on its first line', () => {
    const uncommented = files
      .filter(({ text }) => !/^(\/\/ \S|\/\*)/.test(text.split('\n', 1)[0] ?? ''))
      .map(({ file }) => file);
    assert.deepEqual(uncommented, [], 'src files whose first line is not a comment saying what the file does');
  });

  test(`no file is over ${MAX_LINES} lines`, () => {
    const long = files
      .map(({ file, text }) => ({ file, lines: lineCount(text) }))
      .filter(({ lines }) => lines > MAX_LINES)
      .map(({ file, lines }) => `${file} (${lines} lines)`);
    assert.deepEqual(long, [], `src files over ${MAX_LINES} lines`);
  });
});
