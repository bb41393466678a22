// Finds the links in markdown text and checks that each one stays inside the repository and lands somewhere:
// a file or folder that exists and, for `#anchor`, a heading (or an explicit `<a id>`) of the target file.
// External http(s) and mailto links are accepted without being fetched: the check must run offline and fast.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';

export interface Link {
  target: string;
  line: number;
}

export interface LinkProblem {
  file: string;
  line: number;
  target: string;
  problem: string;
}

/** Fenced code blocks hold examples, not links or headings: blank them out, keeping line numbers. */
function withoutFences(text: string): string[] {
  const lines = text.split('\n');
  let fence: string | undefined;
  return lines.map((line) => {
    const opening = /^\s*(```+|~~~+)/.exec(line);
    if (fence !== undefined) {
      if (opening && opening[1]!.startsWith(fence)) fence = undefined;
      return '';
    }
    if (opening) {
      fence = opening[1]!;
      return '';
    }
    return line;
  });
}

/** Inline code spans hold examples too; a heading keeps them (their text is part of its anchor). */
const withoutInlineCode = (line: string) => line.replace(/(`+)[\s\S]*?\1/g, (code) => ' '.repeat(code.length));

/** Inline links and images `[text](target "title")`, and reference definitions `[id]: target`. */
export function extractLinks(markdown: string): Link[] {
  const links: Link[] = [];
  withoutFences(markdown)
    .map(withoutInlineCode)
    .forEach((line, index) => {
      for (const match of line.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g)) {
        links.push({ target: match[1]!.replace(/^<|>$/g, ''), line: index + 1 });
      }
      const definition = /^\s{0,3}\[[^\]]+\]:\s*(\S+)/.exec(line);
      if (definition) links.push({ target: definition[1]!, line: index + 1 });
    });
  return links;
}

/** The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slugOf(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link in a heading: its text
    .replace(/<[^>]+>/g, '')
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor a markdown file offers: its headings' slugs (repeats numbered as GitHub does) and `<a id>`s. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(markdown)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const slug = slugOf(heading[1]!);
      const count = seen.get(slug) ?? 0;
      seen.set(slug, count + 1);
      anchors.add(count === 0 ? slug : `${slug}-${count}`);
    }
    for (const html of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(html[1]!);
  }
  return anchors;
}

const EXTERNAL = /^(https?:|mailto:)/i;
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** Problems of the links in one markdown file of the repository at `root`. */
export function checkMarkdownFile(root: string, file: string, text = readFileSync(file, 'utf8')): LinkProblem[] {
  const problems: LinkProblem[] = [];
  const at = relative(root, file);
  for (const { target, line } of extractLinks(text)) {
    const report = (problem: string) => problems.push({ file: at, line, target, problem });
    if (EXTERNAL.test(target)) continue;
    if (SCHEME.test(target)) {
      report('only relative links and http(s)/mailto links are allowed');
      continue;
    }
    const [pathPart = '', anchor] = target.split('#', 2);
    const path = decodeURIComponent(pathPart);
    if (isAbsolute(path)) {
      report('an absolute path: a clone does not have it; use a path relative to this file');
      continue;
    }
    const destination = path === '' ? file : resolve(dirname(file), path);
    const inside = relative(root, destination);
    if (inside.startsWith('..') || isAbsolute(inside)) {
      report('leaves the repository: a clone does not have it');
      continue;
    }
    if (destination !== file && !existsSync(destination)) {
      report(`no such file or folder: ${inside}`);
      continue;
    }
    if (anchor === undefined || anchor === '') continue;
    if (!destination.endsWith('.md') || (destination !== file && statSync(destination).isDirectory())) {
      report('an #anchor on something that is not a markdown file');
      continue;
    }
    const anchors = anchorsOf(destination === file ? text : readFileSync(destination, 'utf8'));
    if (!anchors.has(decodeURIComponent(anchor).toLowerCase())) {
      report(`no heading #${anchor} in ${relative(root, destination)}`);
    }
  }
  return problems;
}

/** Top folders of the repository whose paths the docs name in code spans (`src/workflows/`, `deploy/rbac.yaml`). */
const REPOSITORY_FOLDERS = /^(?:src|test|bench|deploy|tools)\//;

/**
 * Repository paths a markdown file names in inline code outside fenced blocks, with their lines. A path holding a
 * placeholder (`<node>`, `*`, `…`, `{n}`) names a pattern, not a file, and is left out.
 */
export function namedPaths(markdown: string): Link[] {
  const paths: Link[] = [];
  withoutFences(markdown).forEach((line, index) => {
    for (const code of line.matchAll(/`([^`\s]+)`/g)) {
      const path = code[1]!;
      if (REPOSITORY_FOLDERS.test(path) && !/[<>*…{}]/.test(path)) paths.push({ target: path, line: index + 1 });
    }
  });
  return paths;
}
