// `npm run record-histories`: re-records the replay fixtures in test/histories from real runs of today's code. Before
// the first release this is how a workflow change is absorbed (docs/versioning.md): nothing is patched, the histories
// are recorded again. Fixtures named before-<patch-id>--*.binpb are kept: they were recorded before a patch and
// prove its old path, so no later code can record them again.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const historiesDir = join(root, 'test', 'histories');
const testsDir = join(root, 'test');

/** Test files that record a history (they call recordHistory), and the fixture names they write. */
function recordingTests(): { file: string; names: string[] }[] {
  const found: { file: string; names: string[] }[] = [];
  for (const entry of readdirSync(testsDir, { recursive: true }) as string[]) {
    if (!entry.endsWith('.test.ts')) continue;
    const source = readFileSync(join(testsDir, entry), 'utf8');
    const names = [...source.matchAll(/recordHistory\(\s*'([^']+)'/g)].map((m) => m[1]!);
    if (names.length) found.push({ file: join('test', entry), names });
  }
  return found;
}

const tests = recordingTests();
const frozen = (f: string) => f.startsWith('before-');
const stale = readdirSync(historiesDir).filter((f) => f.endsWith('.binpb') && !frozen(f));
for (const f of stale) rmSync(join(historiesDir, f));
console.log(`removed ${stale.length} recorded histories; recording from ${tests.map((t) => t.file).join(', ')}`);

const started = Date.now();
const run = spawnSync('npx', ['vitest', 'run', ...tests.map((t) => t.file)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PITSTOP_RECORD_HISTORIES: '1' },
});
const written = tests.flatMap((t) => t.names).filter(exists);
for (const name of written) {
  const path = join(historiesDir, `${name}.binpb`);
  console.log(`  ${relative(root, path)} (${statSync(path).size} bytes)`);
}
const notWritten = tests.flatMap((t) => t.names).filter((n) => !exists(n));
console.log(`${written.length} histories recorded in ${Math.round((Date.now() - started) / 1000)} s`);
if (run.status !== 0 || notWritten.length) {
  if (notWritten.length) console.error(`not recorded (their test failed?): ${notWritten.join(', ')}`);
  process.exit(1);
}

function exists(name: string): boolean {
  try {
    return statSync(join(historiesDir, `${name}.binpb`)).isFile();
  } catch {
    return false;
  }
}
