// The custom resources Pitstop talks to, with permissive schemas but the same group, version, scope,
// names and status subresource as upstream (KubeVirt's VMI has none: virt-handler writes the whole object).
import { paths, isAlreadyExists, type KubeClient } from '../k8s/client.js';

interface CrdSpec {
  group: string;
  version: string;
  kind: string;
  plural: string;
  shortNames?: string[];
  scope: 'Namespaced' | 'Cluster';
  status: boolean;
  columns?: { name: string; jsonPath: string }[];
}

export const CRDS: CrdSpec[] = [
  {
    group: 'kubevirt.io',
    version: 'v1',
    kind: 'VirtualMachine',
    plural: 'virtualmachines',
    shortNames: ['vm', 'vms'],
    scope: 'Namespaced',
    status: true,
    columns: [
      { name: 'Status', jsonPath: '.status.printableStatus' },
      { name: 'Ready', jsonPath: '.status.ready' },
    ],
  },
  {
    group: 'kubevirt.io',
    version: 'v1',
    kind: 'VirtualMachineInstance',
    plural: 'virtualmachineinstances',
    shortNames: ['vmi', 'vmis'],
    scope: 'Namespaced',
    status: false,
    columns: [
      { name: 'Phase', jsonPath: '.status.phase' },
      { name: 'NodeName', jsonPath: '.status.nodeName' },
    ],
  },
  {
    group: 'kubevirt.io',
    version: 'v1',
    kind: 'VirtualMachineInstanceMigration',
    plural: 'virtualmachineinstancemigrations',
    shortNames: ['vmim', 'vmims'],
    scope: 'Namespaced',
    status: true,
    columns: [
      { name: 'Phase', jsonPath: '.status.phase' },
      { name: 'VMI', jsonPath: '.spec.vmiName' },
    ],
  },
  {
    group: 'kubevirt.io',
    version: 'v1',
    kind: 'KubeVirt',
    plural: 'kubevirts',
    shortNames: ['kv'],
    scope: 'Namespaced',
    status: true,
  },
  {
    group: 'metal3.io',
    version: 'v1alpha1',
    kind: 'BareMetalHost',
    plural: 'baremetalhosts',
    shortNames: ['bmh'],
    scope: 'Namespaced',
    status: true,
    columns: [
      { name: 'Online', jsonPath: '.spec.online' },
      { name: 'PoweredOn', jsonPath: '.status.poweredOn' },
    ],
  },
  {
    group: 'machine.openshift.io',
    version: 'v1beta1',
    kind: 'Machine',
    plural: 'machines',
    scope: 'Namespaced',
    status: true,
  },
];

function crdManifest(spec: CrdSpec) {
  const open = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${spec.plural}.${spec.group}` },
    spec: {
      group: spec.group,
      scope: spec.scope,
      names: {
        kind: spec.kind,
        plural: spec.plural,
        singular: spec.kind.toLowerCase(),
        listKind: `${spec.kind}List`,
        shortNames: spec.shortNames,
      },
      versions: [
        {
          name: spec.version,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: open,
                status: open,
              },
            },
          },
          subresources: spec.status ? { status: {} } : undefined,
          additionalPrinterColumns: spec.columns?.map((c) => ({ ...c, type: 'string' })),
        },
      ],
    },
  };
}

const crdPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/** Creates the CRDs (idempotent) and waits until every one is Established. */
export async function installCrds(client: KubeClient): Promise<void> {
  for (const spec of CRDS) {
    try {
      await client.create(crdPath, crdManifest(spec));
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
