// `kubectl kustomize deploy/` with the project's own kubectl (v1.36.3), parsed into objects.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/k8s/client.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function renderDeploy(): KubeObject[] {
  const text = execFileSync(inject('kubeBinaries').kubectl, ['kustomize', `${ROOT}deploy`], { encoding: 'utf8' });
  return parseAllDocuments(text).map((d) => d.toJS() as KubeObject);
}

export const byKind = (objects: KubeObject[], kind: string) => objects.filter((o) => o.kind === kind);
