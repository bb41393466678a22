// `kubectl kustomize deploy/` with the project's own kubectl (v1.36.3), parsed into objects.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/k8s/client.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A rendered object; tests read arbitrary fields of it (rules, roleRef, data, …). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Manifest = KubeObject & Record<string, any>;

export function renderDeploy(): Manifest[] {
  const text = execFileSync(inject('kubeBinaries').kubectl, ['kustomize', `${ROOT}deploy`], { encoding: 'utf8' });
  return parseAllDocuments(text).map((d) => d.toJS() as Manifest);
}

export const byKind = (objects: Manifest[], kind: string) => objects.filter((o) => o.kind === kind);
