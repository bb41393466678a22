// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

// Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O libraries.
const forbiddenInWorkflows = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  '@kubernetes/client-node',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  'yaml',
  'selfsigned',
];

// ---------------------------------------------------------------------------------------------------------------
// Layers of src/, read from the imports as they stand, bottom to top. Nothing imports a layer above its own.
//
//   5  entry points and harnesses   api  cli  chaos  sandbox  devserver  tools  main.ts  start.ts
//   4  processes                    worker  client
//   3  workflows                    workflows
//   2  activities                   activities
//   1  platform                     k8s  config.ts  observability
//   0  domain                       domain
//
// - domain imports nothing of the project: decisions are pure and every layer may use them.
// - platform modules talk to the outside (Kubernetes, files and environment, logs and metrics) and may use each other.
// - activities use the platform; they never import workflows (the data shapes both need live in domain).
// - workflows import only domain (and each other): the sandbox cannot load the platform's Node modules. They may
//   import activity types (`import type`), which vanish at compile time; the values reach them through proxies.
// - worker and client are separate processes' wiring: each uses everything below, never the other.
// - entry points may import anything, and each other, except that the harnesses that imitate the cluster (sandbox)
//   and judge a run (chaos) never import the activities they exercise: they share only domain's contract with them.
//
// A folder or root file not in this table is not yet placed: importing it from a layered folder fails the lint, so
// a new module is put into its layer here on purpose.

const DOMAIN = ['domain'];
const PLATFORM = [...DOMAIN, 'k8s', 'config', 'observability'];
const ACTIVITIES = [...PLATFORM, 'activities'];
const PROCESSES = [...ACTIVITIES, 'workflows'];

/** Per folder (or root file of src/): the top-level names of src/ it may import, besides itself. */
const mayImport = {
  domain: { values: DOMAIN },
  k8s: { values: PLATFORM },
  config: { values: PLATFORM },
  observability: { values: PLATFORM },
  activities: { values: ACTIVITIES },
  workflows: { values: [...DOMAIN, 'workflows'], types: ['activities'] },
  worker: { values: [...PROCESSES, 'worker'] },
  client: { values: [...PROCESSES, 'client'] },
};
const harnesses = { chaos: { types: ['workflows'] }, sandbox: {} };

/** Files up to this depth below src/<name>/ are checked: how far a relative import climbs to src/ depends on it. */
const MAX_DEPTH = 5;

/**
 * Regex for a relative import that climbs `depth` levels to src/ and enters a top-level name of src/ not in `allowed`
 * (when `allowed` is set), or one of `names`. `../activities/x.js` and `../config.js` both enter a top-level name.
 */
function enters(depth, { allowed, names }) {
  const climb = depth === 0 ? '\\./' : '\\.\\./'.repeat(depth);
  const oneOf = (list) => `(${list.join('|')})(/|\\.js$)`;
  return allowed ? `^${climb}(?!${oneOf(allowed)})[^./]` : `^${climb}${oneOf(names)}`;
}

const LAYERS_HINT = 'the layers of src/ are listed in eslint.config.js';

/** The import restrictions of one layer folder at one depth: its own allow-list, plus determinism where it applies. */
function layerRule(folder, depth) {
  const own = mayImport[folder];
  const patterns = [];
  if (own) {
    const allowed = [...own.values, ...(own.types ?? [])];
    patterns.push({
      regex: enters(depth, { allowed }),
      caseSensitive: true,
      message: `${folder} may import only ${allowed.join(', ')} (${LAYERS_HINT}).`,
    });
    if (own.types) {
      patterns.push({
        regex: enters(depth, { names: own.types }),
        caseSensitive: true,
        allowTypeImports: true,
        message: `${folder} may import ${own.types.join(', ')} only as \`import type\` (${LAYERS_HINT}).`,
      });
    }
  } else {
    const harness = harnesses[folder] ?? {};
    patterns.push({
      regex: enters(depth, { names: ['activities'] }),
      caseSensitive: true,
      message: `${folder} imitates or judges the system: it shares domain's contract, never the activities' code.`,
    });
    patterns.push({
      regex: enters(depth, { names: ['workflows'] }),
      caseSensitive: true,
      allowTypeImports: harness.types?.includes('workflows') ?? false,
      message: `${folder} may import workflows ${harness.types ? 'only as `import type`' : 'not at all'} (${LAYERS_HINT}).`,
    });
  }
  const deterministic = folder === 'workflows' || folder === 'domain';
  const paths = deterministic
    ? forbiddenInWorkflows.map((name) => ({
        name,
        message: 'Workflow and domain code must stay deterministic: no Node built-ins or I/O libraries.',
      }))
    : [];
  return { 'no-restricted-imports': ['error', { paths, patterns }] };
}

/** One config object per layered name and depth: src/<name>.ts is depth 0, src/<name>/x.ts depth 1, and so on. */
function layerConfigs() {
  return [...Object.keys(mayImport), ...Object.keys(harnesses)].flatMap((name) =>
    Array.from({ length: MAX_DEPTH + 1 }, (_, depth) => ({
      files: [depth === 0 ? `src/${name}.ts` : `src/${name}/${'*/'.repeat(depth - 1)}*.ts`],
      rules: layerRule(name, depth),
    })),
  );
}

export default tseslint.config(
  { ignores: ['node_modules', 'dist', '**/*.js', '!eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...layerConfigs(),
);
