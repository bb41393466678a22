// The custom resources Pitstop talks to, installed with their real published schemas (src/sandbox/crds/upstream/,
// each file naming the repository, path and commit it comes from): the API server then validates, defaults and
// prunes what Pitstop and the simulated controllers write exactly as a real cluster does. Names, short names,
// printer columns and the status subresource are upstream's too (KubeVirt's VMI has none: virt-handler and
// virt-controller write the whole object).
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { paths, isAlreadyExists, type KubeClient, type KubeObject } from '../k8s/client.js';

interface CrdSpec {
  group: string;
  version: string;
  plural: string;
  /** The file in crds/upstream/ holding the CustomResourceDefinition. */
  file: string;
  /** A CRD Pitstop itself ships (deploy/): read from there so the sandbox installs the very file users apply. */
  shipped?: boolean;
}

export const CRDS: CrdSpec[] = [
  { group: 'kubevirt.io', version: 'v1', plural: 'virtualmachines', file: 'kubevirt.io_virtualmachines.yaml' },
  {
    group: 'kubevirt.io',
    version: 'v1',
    plural: 'virtualmachineinstances',
    file: 'kubevirt.io_virtualmachineinstances.yaml',
  },
  {
    group: 'kubevirt.io',
    version: 'v1',
    plural: 'virtualmachineinstancemigrations',
    file: 'kubevirt.io_virtualmachineinstancemigrations.yaml',
  },
  { group: 'kubevirt.io', version: 'v1', plural: 'kubevirts', file: 'kubevirt.io_kubevirts.yaml' },
  { group: 'metal3.io', version: 'v1alpha1', plural: 'baremetalhosts', file: 'metal3.io_baremetalhosts.yaml' },
  { group: 'machine.openshift.io', version: 'v1beta1', plural: 'machines', file: 'machine.openshift.io_machines.yaml' },
  {
    group: 'nodemaintenance.medik8s.io',
    version: 'v1beta1',
    plural: 'nodemaintenances',
    file: 'nodemaintenance.medik8s.io_nodemaintenances.yaml',
    shipped: true,
  },
];

/** The upstream CustomResourceDefinition of one resource, as published. */
export function upstreamCrd(spec: CrdSpec): KubeObject {
  const dir = spec.shipped ? '../../deploy/' : './crds/upstream/';
  const text = readFileSync(new URL(`${dir}${spec.file}`, import.meta.url), 'utf8');
  const crd = parse(text) as KubeObject;
  if (crd.metadata?.name !== `${spec.plural}.${spec.group}`) {
    throw new Error(`crds/upstream/${spec.file} holds ${String(crd.metadata?.name)}, not ${spec.plural}.${spec.group}`);
  }
  return crd;
}

const crdPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/** Creates the CRDs (idempotent) and waits until every one is Established. */
export async function installCrds(client: KubeClient): Promise<void> {
  for (const spec of CRDS) {
    try {
      await client.create(crdPath, upstreamCrd(spec));
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
  for (const spec of CRDS) {
    for (let i = 0; ; i++) {
      const crd = await client.get(`${crdPath}/${spec.plural}.${spec.group}`);
      const established = (crd.status?.conditions ?? []).some(
        (c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True',
      );
      if (established) {
        // Discovery can lag the condition by a moment; a list proves the endpoint serves.
        try {
          await client.list(paths.resource(spec.group, spec.version, spec.plural));
          break;
        } catch {
          /* retry */
        }
      }
      if (i > 200) throw new Error(`CRD ${spec.plural}.${spec.group} not established`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
