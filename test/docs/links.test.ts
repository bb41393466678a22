// The docs are self-contained: every relative link in README.md and docs/ lands on a file of this repository (and on
// a heading that exists, for #anchors), every repository path they name in code exists, and no code comment points
// outside the clone. No servers needed.
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { anchorsOf, checkMarkdownFile, extractLinks, namedPaths, slugOf } from './markdownLinks.js';

const root = resolve(import.meta.dirname, '../..');

const filesUnder = (folder: string, ending: string) =>
  readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith(ending))
    .map((name) => join(root, folder, name));

const markdownFiles = [join(root, 'README.md'), ...filesUnder('docs', '.md')];
const codeFiles = ['src', 'test', 'bench'].flatMap((folder) => filesUnder(folder, '.ts'));

/** The folder outside the repository that early documents pointed to (built, so this file does not point there). */
const OUTSIDE = ['..', 'shared'].join('/');

describe('documentation links', () => {
  it('README.md and every docs/ page link only to files, folders and headings of this repository', () => {
    const problems = markdownFiles.flatMap((file) => checkMarkdownFile(root, file));
    expect(problems.map((p) => `${p.file}:${p.line}: ${p.target}: ${p.problem}`)).toEqual([]);
    expect(markdownFiles.length).toBeGreaterThan(5);
  });

  it('every repository path the docs name in code (`src/…`, `test/…`, `deploy/…`) exists', () => {
    const missing = markdownFiles.flatMap((file) =>
      namedPaths(readFileSync(file, 'utf8'))
        .filter(({ target }) => !existsSync(join(root, target)))
        .map(({ target, line }) => `${relative(root, file)}:${line}: no ${target}`),
    );
    expect(missing).toEqual([]);
  });

  it('no source, test or benchmark file points outside the repository (a sibling folder) or to a doc that is gone', () => {
    const problems: string[] = [];
    for (const file of codeFiles) {
      const at = relative(root, file);
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, index) => {
          if (line.includes(OUTSIDE)) problems.push(`${at}:${index + 1}: points to ${OUTSIDE}`);
          for (const doc of line.matchAll(/\b(?:docs\/[\w./-]+|README)\.md\b/g)) {
            const path = doc[0];
            if (!markdownFiles.includes(join(root, path))) problems.push(`${at}:${index + 1}: no ${path}`);
          }
        });
    }
    // The check's own tests may name what it looks for.
    expect(problems.filter((p) => !p.startsWith('test/docs/'))).toEqual([]);
  });
});

describe('the link check itself', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'pitstop-links-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  mkdirSync(join(scratch, 'docs'));
  writeFileSync(join(scratch, 'docs', 'target.md'), '# The `runbook`: one screen\n\n## Steps\n\n## Steps\n');
  const check = (text: string) =>
    checkMarkdownFile(scratch, join(scratch, 'README.md'), text).map((p) => `${p.target}: ${p.problem}`);

  it('fails a link that leaves the repository, an absolute path, a missing file and a missing heading', () => {
    const problems = check(
      [
        `See [design](${OUTSIDE}/DESIGN.md), [abs](/etc/passwd), [gone](docs/gone.md),`,
        '[bad anchor](docs/target.md#nowhere), [self](#missing) and [file](file:///tmp/x).',
      ].join('\n'),
    );
    expect(problems).toEqual([
      `${OUTSIDE}/DESIGN.md: leaves the repository: a clone does not have it`,
      '/etc/passwd: an absolute path: a clone does not have it; use a path relative to this file',
      'docs/gone.md: no such file or folder: docs/gone.md',
      'docs/target.md#nowhere: no heading #nowhere in docs/target.md',
      '#missing: no heading #missing in README.md',
      'file:///tmp/x: only relative links and http(s)/mailto links are allowed',
    ]);
  });

  it('accepts external links, existing files and folders, headings (repeats numbered) and links inside code', () => {
    const text = [
      '# Top',
      '[web](https://temporal.io) [mail](mailto:ops@example.com) [folder](docs/) [page](docs/target.md)',
      '[heading](docs/target.md#the-runbook-one-screen) [again](docs/target.md#steps-1) [self](#top)',
      '![picture](docs/target.md "a title")',
      '[ref]: docs/target.md#steps',
      `\`[not a link](${OUTSIDE}/DESIGN.md)\``,
      '```',
      '[not a link either](../outside.md)',
      '```',
    ].join('\n');
    expect(check(text)).toEqual([]);
    expect(extractLinks(text).map((l) => l.target)).toContain('docs/target.md#steps');
  });

  it('finds the repository paths named in code, but not patterns or paths inside fenced blocks', () => {
    const text = [
      'See `src/domain/`, `deploy/rbac.yaml` and `npm test`; not `test/<name>.ts`.',
      '```',
      '`src/x.ts`',
      '```',
    ];
    expect(namedPaths(text.join('\n'))).toEqual([
      { target: 'src/domain/', line: 1 },
      { target: 'deploy/rbac.yaml', line: 1 },
    ]);
  });

  it('computes the anchors GitHub gives headings', () => {
    expect(slugOf('How it behaves on failure')).toBe('how-it-behaves-on-failure');
    expect(slugOf('1. Drain efficiency and `kubectl drain`')).toBe('1-drain-efficiency-and-kubectl-drain');
    expect(slugOf('RBAC: every rule and why')).toBe('rbac-every-rule-and-why');
    expect(slugOf('Latest figures (2026-11-25)')).toBe('latest-figures-2026-11-25');
    expect([...anchorsOf('# A\n## A\n<a id="custom"></a>')]).toEqual(['a', 'a-1', 'custom']);
  });
});
