// The informer's indexes follow the API server: objects are filed under their current values and leave the index
// when they change or go, so the sandbox's controllers can look up "pods on this node" without a full scan.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Informer } from '../../src/k8s/informer.js';
import { KubeClient, paths, type KubeObject } from '../../src/k8s/client.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { startSandboxOnly, eventually } from '../support/env.js';

const NS = 'informer-index';
const configMaps = `/api/v1/namespaces/${NS}/configmaps`;
let sandbox: Sandbox;
let kube: KubeClient;
let informer: Informer<KubeObject>;

beforeAll(async () => {
  sandbox = await startSandboxOnly();
  kube = KubeClient.fromFile(sandbox.kubeconfigPath);
  await kube.create(paths.namespaces(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  informer = new Informer<KubeObject>(kube, configMaps, { labelSelector: 'owner=informer-test' }).addIndex(
    'colour',
    (o) => [o.metadata.labels?.colour],
  );
  await informer.start();
});

afterAll(async () => {
  informer?.stop();
  kube?.close();
  await sandbox?.stop();
});

const names = (objects: KubeObject[]) => objects.map((o) => o.metadata.name).sort();
const configMap = (name: string, colour?: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, labels: colour ? { owner: 'informer-test', colour } : { owner: 'informer-test' } },
});

it('files objects under their current value, moves them on change and drops them on delete', async () => {
  await kube.create(configMaps, configMap('a', 'red'));
  await kube.create(configMaps, configMap('b', 'red'));
  await kube.create(configMaps, configMap('c'));
  await eventually('the informer to follow the API server', async () => {
    expect(names(informer.byIndex('colour', 'red'))).toEqual(['a', 'b']);
    expect(names(informer.list())).toEqual(['a', 'b', 'c']); // c is cached, just not indexed
    return true;
  });

  await kube.patch(`${configMaps}/b`, { metadata: { labels: { colour: 'blue' } } });
  await eventually('the informer to follow the API server', async () => {
    expect(names(informer.byIndex('colour', 'blue'))).toEqual(['b']);
    return true;
  });
  expect(names(informer.byIndex('colour', 'red'))).toEqual(['a']);

  await kube.delete(`${configMaps}/a`);
  await eventually('the informer to follow the API server', async () => {
    expect(informer.byIndex('colour', 'red')).toEqual([]);
    expect(names(informer.list())).toEqual(['b', 'c']);
    return true;
  });
});

it('indexes what is already cached when an index is added late', async () => {
  await eventually('the informer to follow the API server', async () => {
    expect(names(informer.list())).toEqual(['b', 'c']);
    return true;
  });
  informer.addIndex('name', (o) => [o.metadata.name]);
  expect(names(informer.byIndex('name', 'c'))).toEqual(['c']);
  expect(() => informer.byIndex('no-such-index', 'x')).toThrow(/no index/);
});
