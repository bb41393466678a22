// `npm run bundle`: bundles the workflows as the worker would. CI runs it so a bundling error (a Node built-in
// or I/O library reaching workflow code) fails the build instead of a user's worker.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowsPath } from './worker.js';

export const defaultBundlePath = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/workflow-bundle.js');

export async function writeWorkflowBundle(path = defaultBundlePath): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: undefined });
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, code);
  return path;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const path = await writeWorkflowBundle(process.argv[2] ? resolve(process.argv[2]) : undefined);
  console.log(`workflow bundle written to ${path}`);
}
