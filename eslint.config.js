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
//   1  platform                     k8s  redfish  config.ts  observability
//   0  domain                       domain
//
// - domain imports nothing of the project: decisions are pure and every layer may use them.
// - platform modules talk to the outside (Kubernetes, BMCs over Redfish, files and environment, logs and metrics)
//   and may use each other.
// - activities use the platform; they never import workflows (the data shapes both need live in domain).
// - workflows import only domain (and each other): Temporal's workflow sandbox cannot load the platform's Node
//   modules. They may import activity types (`import type`), which vanish at compile time; the values reach them
//   through proxies.
// - worker and client are separate processes' wiring: each uses everything below, never the other.
// - entry points may import anything, and each other, except that the harnesses that imitate the cluster (sandbox)
//   and judge a run (chaos) never import the activities they exercise: they share only domain's contract with them.
//
// A folder or root file not in this table is not yet placed: importing it from a layered folder fails the lint, so
// a new module is put into its layer here on purpose.

const DOMAIN = ['domain'];
const PLATFORM = [...DOMAIN, 'k8s', 'redfish', 'config', 'observability'];
const ACTIVITIES = [...PLATFORM, 'activities'];
const PROCESSES = [...ACTIVITIES, 'workflows'];

/**
 * Per top-level name of src/ (a folder, or a root file such as config.ts), what it may import of src/ besides
 * itself: `only` these names, names it may import only as types (`typesOf`), or everything but `never`.
 */
/** @type {Record<string, { only?: string[]; never?: string[]; typesOf?: string[] }>} */
const layering = {
  domain: { only: DOMAIN },
  k8s: { only: PLATFORM },
  redfish: { only: PLATFORM },
  config: { only: PLATFORM },
  observability: { only: PLATFORM },
  activities: { only: ACTIVITIES },
  workflows: { only: DOMAIN, typesOf: ['activities'] },
  worker: { only: PROCESSES },
  client: { only: PROCESSES },
  chaos: { never: ['activities'] },
  sandbox: { never: ['activities', 'workflows'] },
};

/** Files up to this depth below src/<name>/ are checked: how far a relative import climbs to src/ depends on it. */
const MAX_DEPTH = 5;

/**
 * Regex for a relative import that climbs `depth` levels to src/ and then enters one of `names`, or (with `except`)
 * any top-level name but those. `../activities/x.js` and `../config.js` both enter a top-level name.
 */
function enters(depth, { names, except }) {
  const climb = depth === 0 ? '\\./' : '\\.\\./'.repeat(depth);
  const oneOf = (list) => `(${list.join('|')})(/|\\.js$)`;
  return except ? `^${climb}(?!${oneOf(except)})[^./]` : `^${climb}${oneOf(names)}`;
}

const LAYERS_HINT = 'the layers of src/ are listed in eslint.config.js';

/** The import rule of one layered name at one depth: its layering, plus determinism for workflows and domain. */
function layerRule(name, depth) {
  const { only, never, typesOf = [] } = layering[name] ?? {};
  const restrict = (regex, message, allowTypeImports = false) => ({
    regex,
    message,
    allowTypeImports,
    caseSensitive: true,
  });
  const patterns = [];
  if (only) {
    const allowed = [...new Set([name, ...only, ...typesOf])];
    patterns.push(
      restrict(enters(depth, { except: allowed }), `${name} may import only ${allowed.join(', ')} (${LAYERS_HINT}).`),
    );
  }
  if (never) {
    patterns.push(
      restrict(enters(depth, { names: never }), `${name} may not import ${never.join(' or ')} (${LAYERS_HINT}).`),
    );
  }
  if (typesOf.length > 0) {
    const message = `${name} may import ${typesOf.join(', ')} only as \`import type\` (${LAYERS_HINT}).`;
    patterns.push(restrict(enters(depth, { names: typesOf }), message, true));
  }
  const deterministic = name === 'workflows' || name === 'domain';
  const paths = deterministic
    ? forbiddenInWorkflows.map((module) => ({
        name: module,
        message: 'Workflow and domain code must stay deterministic: no Node built-ins or I/O libraries.',
      }))
    : [];
  return { 'no-restricted-imports': ['error', { paths, patterns }] };
}

/** One config object per layered name and depth: src/<name>.ts is depth 0, src/<name>/x.ts depth 1, and so on. */
function layerConfigs() {
  return Object.keys(layering).flatMap((name) =>
    Array.from({ length: MAX_DEPTH + 1 }, (_, depth) => ({
      files: [depth === 0 ? `src/${name}.ts` : `src/${name}/${'*/'.repeat(depth - 1)}*.ts`],
      rules: layerRule(name, depth),
    })),
  );
}

// Temporal messages and workflow types go by their typed definitions, never by a name in a string: a query, update
// or signal by its definition in src/workflows/messages.ts, a workflow by WORKFLOW_TYPES (src/domain/workflowNames.ts)
// with `<typeof theWorkflow>`, as src/client does. A typo or a wrong argument is then a type error.
const STRING_FIRST = '[arguments.0.type=/^(Literal|TemplateLiteral)$/]';
const MESSAGES_HINT =
  'Send a Temporal message by its typed definition from src/workflows/messages.ts, not by a string name.';
const WORKFLOWS_HINT =
  'Start a workflow as `workflow.start<typeof nodeMaintenance>(WORKFLOW_TYPES.nodeMaintenance, …)` ' +
  '(src/domain/workflowNames.ts), not by a string name.';
const typedMessages = {
  'no-restricted-syntax': [
    'error',
    {
      selector: `CallExpression[callee.property.name=/^(query|executeUpdate|startUpdate|signal)$/]${STRING_FIRST}`,
      message: MESSAGES_HINT,
    },
    {
      selector:
        "CallExpression:matches([callee.object.name='workflow'], [callee.object.property.name='workflow'])" +
        `[callee.property.name=/^(start|execute|signalWithStart)$/]${STRING_FIRST}`,
      message: WORKFLOWS_HINT,
    },
  ],
};

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
      ...typedMessages,
    },
  },
  ...layerConfigs(),
);
