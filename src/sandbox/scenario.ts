// Scenario files: a whole cluster in one YAML document (nodes, BMCs, VMs with their quirks, workloads).
// `name: worker-{n}` with `count: 4` expands to worker-1 … worker-4, so large scenarios stay short.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { isAlreadyExists, paths, type KubeClient } from '../k8s/client.js';
import { parseDuration } from '../domain/durations.js';
import { bmhPath, vmPath, vmiPath } from './context.js';
import { DEFAULT_TIMING, GVR, HW, KNOB, LABEL, nodeReadyCondition, nowIso, type Timing } from './model.js';

const labels = z.record(z.string(), z.string());
const knobs = z
  .object({
    migrationDuration: z.string(),
    migrationFailures: z.number().int().min(0),
    migrationStuck: z.enum(['Pending', 'Scheduling']),
    migrationAbortFails: z.boolean(),
    stopHangs: z.boolean(),
    stopDuration: z.string(),
  })
  .partial()
  .strict();

const nodeSchema = z
  .object({
    name: z.string(),
    count: z.number().int().min(1).optional(),
    controlPlane: z.boolean().default(false),
    /** Control-plane nodes carry the usual NoSchedule taint unless they are schedulable (compact clusters). */
    schedulable: z.boolean().optional(),
    cpu: z.string().default('32'),
    memory: z.string().default('128Gi'),
    pods: z.number().int().default(110),
    labels: labels.default({}),
    bmc: z.enum(['metal3', 'redfish', 'none']).default('metal3'),
    bootDelay: z.string().optional(),
    powerDelay: z.string().optional(),
    neverReady: z.boolean().optional(),
    powerFails: z.boolean().optional(),
    bmcUnreachable: z.boolean().optional(),
  })
  .strict();

const vmSchema = z
  .object({
    name: z.string(),
    count: z.number().int().min(1).optional(),
    namespace: z.string().default('vms'),
    node: z.string().optional(),
    memory: z.string().default('2Gi'),
    cpu: z.number().int().min(1).default(1),
    evictionStrategy: z.enum(['None', 'LiveMigrate', 'LiveMigrateIfPossible', 'External']).optional(),
    runStrategy: z.enum(['Always', 'RerunOnFailure', 'Manual', 'Halted', 'Once']).default('Always'),
    storage: z.enum(['none', 'rwx', 'rwo']).default('none'),
    network: z.enum(['masquerade', 'bridge']).default('masquerade'),
    hostDevice: z.boolean().default(false),
    nodeSelector: labels.optional(),
    labels: labels.default({}),
    standalone: z.boolean().default(false),
    terminationGracePeriodSeconds: z.number().int().min(0).default(30),
    knobs: knobs.default({}),
  })
  .strict();

const workloadSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('Deployment'),
      name: z.string(),
      namespace: z.string().default('apps'),
      replicas: z.number().int().min(0).default(2),
      memory: z.string().default('256Mi'),
      pdb: z
        .object({ minAvailable: z.number().int().optional(), maxUnavailable: z.number().int().optional() })
        .strict()
        .optional(),
      emptyDir: z.boolean().default(false),
    })
    .strict(),
  z
    .object({
      kind: z.literal('DaemonSet'),
      name: z.string(),
      namespace: z.string().default('apps'),
      memory: z.string().default('64Mi'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('Pod'),
      name: z.string(),
      namespace: z.string().default('apps'),
      node: z.string(),
      memory: z.string().default('128Mi'),
      emptyDir: z.boolean().default(false),
      /** A static pod's mirror, as the kubelet publishes it. */
      mirror: z.boolean().default(false),
      stuckTerminating: z.boolean().default(false),
    })
    .strict(),
]);

export const scenarioSchema = z
  .object({
    name: z.string(),
    description: z.string().optional(),
    timing: z.record(z.string(), z.string()).optional(),
    kubevirt: z
      .object({
        namespace: z.string().default('kubevirt'),
        evictionStrategy: z.enum(['None', 'LiveMigrate', 'LiveMigrateIfPossible', 'External']).optional(),
        parallelMigrationsPerCluster: z.number().int().min(1).default(5),
        parallelOutboundMigrationsPerNode: z.number().int().min(1).default(2),
      })
      .strict()
      .default({ namespace: 'kubevirt', parallelMigrationsPerCluster: 5, parallelOutboundMigrationsPerNode: 2 }),
    nodes: z.array(nodeSchema).min(1),
    vms: z.array(vmSchema).default([]),
    workloads: z.array(workloadSchema).default([]),
  })
  .strict();

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;

export function loadScenarioFile(path: string): Scenario {
  return parseScenario(parse(readFileSync(path, 'utf8')), path);
}

export function parseScenario(input: unknown, source = 'scenario'): Scenario {
  const result = scenarioSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${source} is not a valid scenario:\n  ${issues.join('\n  ')}`);
  }
  return result.data;
}

/** Timing overrides: keys of Timing without the "Ms" suffix, values as durations ("3s"). */
export function scenarioTiming(scenario: Scenario, base: Timing = DEFAULT_TIMING): Timing {
  const timing = { ...base };
  for (const [key, value] of Object.entries(scenario.timing ?? {})) {
    const field = `${key}Ms` as keyof Timing;
    if (!(field in timing)) throw new Error(`scenario timing: unknown key ${key}`);
    timing[field] = parseDuration(value, `timing.${key}`);
  }
  return timing;
}

function expand<T extends { name: string; count?: number }>(items: T[]): T[] {
  return items.flatMap((item) =>
    item.count
      ? Array.from({ length: item.count }, (_, i) => ({ ...item, name: item.name.replace('{n}', String(i + 1)) }))
      : [item],
  );
}

export const BMC_NAMESPACE = 'pitstop-bmc';
export const MACHINE_NAMESPACE = 'openshift-machine-api';

export interface BmcCredential {
  nodeName: string;
  secretNamespace: string;
  secretName: string;
  username: string;
  password: string;
}

async function createIgnoringExisting(client: KubeClient, path: string, object: unknown) {
  try {
    return await client.create(path, object);
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    return undefined;
  }
}

export interface ApplyResult {
  credentials: BmcCredential[];
  vmis: string[];
}

/** Creates everything the scenario describes (objects that already exist are left as they are). */
export async function applyScenario(client: KubeClient, scenario: Scenario): Promise<ApplyResult> {
  const kv = scenario.kubevirt;
  const nodes = expand(scenario.nodes);
  const vms = expand(scenario.vms);
  const namespaces = new Set([
    kv.namespace,
    BMC_NAMESPACE,
    MACHINE_NAMESPACE,
    ...vms.map((v) => v.namespace),
    ...scenario.workloads.map((w) => w.namespace),
  ]);
  for (const ns of namespaces)
    await createIgnoringExisting(client, paths.namespaces(), {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns },
    });

  await createIgnoringExisting(
    client,
    paths.resource(GVR.kubevirt.group, GVR.kubevirt.version, GVR.kubevirt.plural, kv.namespace),
    {
      apiVersion: 'kubevirt.io/v1',
      kind: 'KubeVirt',
      metadata: { name: 'kubevirt', namespace: kv.namespace },
      spec: {
        configuration: {
          evictionStrategy: kv.evictionStrategy,
          migrations: {
            parallelMigrationsPerCluster: kv.parallelMigrationsPerCluster,
            parallelOutboundMigrationsPerNode: kv.parallelOutboundMigrationsPerNode,
            completionTimeoutPerGiB: 150,
            progressTimeout: 150,
          },
        },
      },
    },
  );

  // Nodes before VMs (a VM names its first node); within each, a few requests at once (large scenarios).
  const credentials = (await mapConcurrently(nodes, CREATE_CONCURRENCY, (node) => createNode(client, node))).flat();
  await mapConcurrently(vms, CREATE_CONCURRENCY, (vm) => createVm(client, vm));
  for (const w of scenario.workloads) await createWorkload(client, w);
  return { credentials, vmis: vms.map((v) => `${v.namespace}/${v.name}`) };
}

const CREATE_CONCURRENCY = 16;

/** `fn` over `items` with at most `limit` calls in flight; results in the items' order. */
async function mapConcurrently<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

async function createNode(client: KubeClient, node: z.infer<typeof nodeSchema>): Promise<BmcCredential[]> {
  const nodeLabels: Record<string, string> = {
    [LABEL.hostname]: node.name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    ...(node.controlPlane
      ? { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/master': '' }
      : { 'node-role.kubernetes.io/worker': '' }),
    ...node.labels,
  };
  const taints =
    node.controlPlane && !node.schedulable
      ? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]
      : undefined;
  const annotations: Record<string, string> = { [HW.power]: 'on', [HW.powerChangedAt]: new Date(0).toISOString() };
  const knob = (key: string, value: string | boolean | undefined) => {
    if (value !== undefined) annotations[key] = String(value);
  };
  knob(KNOB.bootDelay, node.bootDelay);
  knob(KNOB.powerDelay, node.powerDelay);
  knob(KNOB.neverReady, node.neverReady);
  if (node.bmc === 'redfish') {
    knob(KNOB.powerFails, node.powerFails);
    knob(KNOB.bmcUnreachable, node.bmcUnreachable);
  }
  const machineName = `${node.name}-machine`;
  if (node.bmc === 'metal3') annotations['machine.openshift.io/machine'] = `${MACHINE_NAMESPACE}/${machineName}`;
  const created = await createIgnoringExisting(client, paths.nodes(), {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: node.name, labels: nodeLabels, annotations },
    spec: { taints },
  });
  if (created) {
    const capacity = { cpu: node.cpu, memory: node.memory, pods: String(node.pods) };
    const now = nowIso();
    await client.patch(paths.nodeStatus(node.name), {
      status: {
        capacity,
        allocatable: capacity,
        addresses: [
          { type: 'InternalIP', address: '127.0.0.1' },
          { type: 'Hostname', address: node.name },
        ],
        conditions: [nodeReadyCondition(true, now)],
        nodeInfo: {
          kubeletVersion: 'v1.36.3-sandbox',
          osImage: 'Pitstop sandbox',
          architecture: 'amd64',
          operatingSystem: 'linux',
        },
      },
    });
  }
  if (node.bmc === 'none') return [];

  const secretName = `${node.name}-bmc-secret`;
  const credential: BmcCredential = {
    nodeName: node.name,
    secretNamespace: node.bmc === 'metal3' ? MACHINE_NAMESPACE : BMC_NAMESPACE,
    secretName,
    username: 'admin',
    password: randomBytes(12).toString('base64url'),
  };
  const secret = await createIgnoringExisting(client, paths.secrets(credential.secretNamespace), {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName, namespace: credential.secretNamespace },
    stringData: { username: credential.username, password: credential.password },
  });
  if (!secret) {
    // Keep the password the cluster already has, so a restarted sandbox's BMC accepts it.
    const existing = await client.get(paths.secret(credential.secretNamespace, secretName));
    const data = existing.data as Record<string, string>;
    credential.username = Buffer.from(data.username ?? '', 'base64').toString();
    credential.password = Buffer.from(data.password ?? '', 'base64').toString();
  }

  if (node.bmc === 'metal3') {
    const bmhName = node.name;
    await createIgnoringExisting(
      client,
      paths.resource(GVR.machine.group, GVR.machine.version, GVR.machine.plural, MACHINE_NAMESPACE),
      {
        apiVersion: 'machine.openshift.io/v1beta1',
        kind: 'Machine',
        metadata: {
          name: machineName,
          namespace: MACHINE_NAMESPACE,
          annotations: { 'metal3.io/BareMetalHost': `${MACHINE_NAMESPACE}/${bmhName}` },
        },
        spec: {},
      },
    );
    const bmhAnnotations: Record<string, string> = { [HW.bmhNode]: node.name };
    if (node.powerFails) bmhAnnotations[KNOB.powerFails] = 'true';
    if (node.bmcUnreachable) bmhAnnotations[KNOB.bmcUnreachable] = 'true';
    if (node.powerDelay) bmhAnnotations[KNOB.powerDelay] = node.powerDelay;
    const bmh = await createIgnoringExisting(client, bmhPath(MACHINE_NAMESPACE), {
      apiVersion: 'metal3.io/v1alpha1',
      kind: 'BareMetalHost',
      metadata: { name: bmhName, namespace: MACHINE_NAMESPACE, annotations: bmhAnnotations },
      spec: {
        online: true,
        bmc: {
          address: `redfish-virtualmedia+https://127.0.0.1/redfish/v1/Systems/${node.name}`,
          credentialsName: secretName,
        },
        consumerRef: {
          apiVersion: 'machine.openshift.io/v1beta1',
          kind: 'Machine',
          name: machineName,
          namespace: MACHINE_NAMESPACE,
        },
      },
    });
    if (bmh) {
      await client.patch(bmhPath(MACHINE_NAMESPACE, bmhName, 'status'), {
        status: { poweredOn: true, operationalStatus: 'OK', provisioning: { state: 'provisioned' } },
      });
    }
    await client
      .patch(
        paths.resource(
          GVR.machine.group,
          GVR.machine.version,
          GVR.machine.plural,
          MACHINE_NAMESPACE,
          machineName,
          'status',
        ),
        {
          status: { nodeRef: { kind: 'Node', name: node.name } },
        },
      )
      .catch(() => undefined);
  }
  return [credential];
}

function vmiSpec(vm: z.infer<typeof vmSchema>) {
  const disks = [{ name: 'rootdisk', disk: { bus: 'virtio' } }];
  const volumes: Record<string, unknown>[] = [
    vm.storage === 'none'
      ? { name: 'rootdisk', containerDisk: { image: 'quay.io/containerdisks/fedora:latest' } }
      : { name: 'rootdisk', persistentVolumeClaim: { claimName: `${vm.name}-root` } },
  ];
  const iface = vm.network === 'bridge' ? { name: 'default', bridge: {} } : { name: 'default', masquerade: {} };
  return {
    domain: {
      cpu: { cores: vm.cpu },
      resources: { requests: { memory: vm.memory } },
      devices: {
        disks,
        interfaces: [iface],
        ...(vm.hostDevice ? { hostDevices: [{ name: 'gpu1', deviceName: 'nvidia.com/GA102GL_A10' }] } : {}),
      },
    },
    networks: [{ name: 'default', pod: {} }],
    volumes,
    evictionStrategy: vm.evictionStrategy,
    nodeSelector: vm.nodeSelector,
    terminationGracePeriodSeconds: vm.terminationGracePeriodSeconds,
  };
}

function knobAnnotations(vm: z.infer<typeof vmSchema>): Record<string, string> {
  const k = vm.knobs;
  const entries: [string, unknown][] = [
    [KNOB.migrationDuration, k.migrationDuration],
    [KNOB.migrationFailures, k.migrationFailures],
    [KNOB.migrationStuck, k.migrationStuck],
    [KNOB.migrationAbortFails, k.migrationAbortFails],
    [KNOB.stopHangs, k.stopHangs],
    [KNOB.stopDuration, k.stopDuration],
  ];
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined).map(([key, v]) => [key, String(v)]));
}

async function createVm(client: KubeClient, vm: z.infer<typeof vmSchema>) {
  if (vm.storage !== 'none') {
    await createIgnoringExisting(client, paths.pvcs(vm.namespace), {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: `${vm.name}-root`, namespace: vm.namespace },
      spec: {
        accessModes: [vm.storage === 'rwx' ? 'ReadWriteMany' : 'ReadWriteOnce'],
        resources: { requests: { storage: '20Gi' } },
      },
    });
  }
  const annotations = knobAnnotations(vm);
  const vmLabels = { ...vm.labels };
  if (vm.standalone) {
    await createIgnoringExisting(client, vmiPath(vm.namespace), {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: {
        name: vm.name,
        namespace: vm.namespace,
        labels: vmLabels,
        annotations: { ...annotations, ...(vm.node ? { [KNOB.initialNode]: vm.node } : {}) },
        finalizers: ['foregroundDeleteVirtualMachine'],
      },
      spec: vmiSpec(vm),
      status: { phase: 'Pending' },
    });
    return;
  }
  await createIgnoringExisting(client, vmPath(vm.namespace), {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: {
      name: vm.name,
      namespace: vm.namespace,
      labels: vmLabels,
      annotations: vm.node ? { [KNOB.initialNode]: vm.node } : {},
    },
    spec: {
      runStrategy: vm.runStrategy,
      template: { metadata: { labels: { ...vmLabels, 'kubevirt.io/vm': vm.name }, annotations }, spec: vmiSpec(vm) },
    },
  });
}

function podTemplate(name: string, memory: string, emptyDir: boolean) {
  return {
    containers: [
      {
        name: 'app',
        image: `registry.example/${name}:1`,
        resources: { requests: { memory, cpu: '100m' } },
        ...(emptyDir ? { volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] } : {}),
      },
    ],
    ...(emptyDir ? { volumes: [{ name: 'scratch', emptyDir: {} }] } : {}),
    terminationGracePeriodSeconds: 5,
  };
}

async function createWorkload(client: KubeClient, w: z.infer<typeof workloadSchema>) {
  const apps = (plural: string) => paths.resource('apps', 'v1', plural, w.namespace);
  const selector = { matchLabels: { app: w.name } };
  if (w.kind === 'Deployment') {
    await createIgnoringExisting(client, apps('deployments'), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: w.name, namespace: w.namespace },
      spec: {
        replicas: w.replicas,
        selector,
        template: { metadata: { labels: { app: w.name } }, spec: podTemplate(w.name, w.memory, w.emptyDir) },
      },
    });
    if (w.pdb) {
      await createIgnoringExisting(client, paths.resource('policy', 'v1', 'poddisruptionbudgets', w.namespace), {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: w.name, namespace: w.namespace },
        spec: { selector, ...w.pdb },
      });
    }
  } else if (w.kind === 'DaemonSet') {
    await createIgnoringExisting(client, apps('daemonsets'), {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: w.name, namespace: w.namespace },
      spec: {
        selector,
        template: {
          metadata: { labels: { app: w.name } },
          spec: { ...podTemplate(w.name, w.memory, false), tolerations: [{ operator: 'Exists' }] },
        },
      },
    });
  } else {
    await createIgnoringExisting(client, paths.pods(w.namespace), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: w.name,
        namespace: w.namespace,
        labels: { app: w.name },
        annotations: {
          ...(w.mirror ? { 'kubernetes.io/config.mirror': 'sandbox', 'kubernetes.io/config.source': 'file' } : {}),
          ...(w.stuckTerminating ? { [KNOB.stuckTerminating]: 'true' } : {}),
        },
      },
      spec: { ...podTemplate(w.name, w.memory, w.emptyDir), nodeName: w.node },
    });
  }
}
