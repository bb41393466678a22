// Scenario files: a whole cluster in one YAML document (nodes, BMCs, VMs with their quirks, workloads).
// `name: worker-{n}` with `count: 4` expands to worker-1 … worker-4, so large scenarios stay short.
// Creating the objects a scenario describes is src/sandbox/applyScenario.ts.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../domain/durations.js';
import { DEFAULT_TIMING, type Timing } from './model.js';

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
    /** The OS is dead while the machine stays on (kernel panic, NIC failure): see KNOB.crashed. */
    crashed: z.boolean().optional(),
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

export function expand<T extends { name: string; count?: number }>(items: T[]): T[] {
  return items.flatMap((item) =>
    item.count
      ? Array.from({ length: item.count }, (_, i) => ({ ...item, name: item.name.replace('{n}', String(i + 1)) }))
      : [item],
  );
}

export type NodeSpec = z.infer<typeof nodeSchema>;
export type VmSpec = z.infer<typeof vmSchema>;
export type WorkloadSpec = z.infer<typeof workloadSchema>;

export const BMC_NAMESPACE = 'pitstop-bmc';
export const MACHINE_NAMESPACE = 'openshift-machine-api';

export interface BmcCredential {
  nodeName: string;
  secretNamespace: string;
  secretName: string;
  username: string;
  password: string;
}
