// One chaos run, derived entirely from its seed: a small cluster slice (its own nodes and namespace, so runs can share
// one sandbox), VMs of every kind Pitstop plans for, misbehaviour knobs, the maintenance input and the fault mix.
import type { ScenarioInput } from '../sandbox/scenario.js';
import type { FaultRates } from './faultProxy.js';
import { Prng } from './prng.js';
import { STRATEGY_LABEL } from '../domain/contract.js';
import { generateCrash, type CrashPlan } from './generateCrash.js';

export type Bmc = 'metal3' | 'redfish' | 'none';

export interface ChaosPlan {
  seed: number;
  namespace: string;
  node: string;
  bmc: Bmc;
  scenario: ScenarioInput;
  /** VMIs expected off whatever the outcome (ShutdownStayOff). */
  stayOff: string[];
  input: {
    /** `repair` or `auto` for a node crashed before the start; `auto` (the default) otherwise. */
    mode: 'auto' | 'repair';
    hold: 'none' | 'untilReleased';
    parallelMigrations: number;
    onNonMigratable: 'ask' | 'shutdown' | 'abort';
    onTimeout: 'abort' | 'shutdown';
  };
  /** The node's failure (before or during the maintenance), its BMC's faults and the operator's fence answer. */
  crash: CrashPlan;
  /**
   * An alert storm (ms after the start): KubeNodeNotReady for the node and both spares posted to the Alertmanager
   * hook at once, as a glitching monitoring stack sends it.
   */
  stormAtMs?: number;
  /** Proxy fault rates for this run. */
  rates: FaultRates;
  /** Moments (ms after the start) of the disruptive actions; absent = not in this run. */
  actions: { cancelAtMs?: number; killWorkerAtMs?: number[]; restartTemporalAtMs?: number };
  /** How the simulated operator answers escalations: an action, or none (the decision times out). */
  answers: Array<'shutdown' | 'retry' | 'delete' | 'ignore'>;
  /** Human-readable list of what was injected, for the report of a failing seed. */
  faults: string[];
}

const STRATEGIES = ['LiveMigrate', 'LiveMigrateIfPossible', 'None', 'External'] as const;
const RUN_STRATEGIES = ['Always', 'Always', 'Always', 'RerunOnFailure', 'Manual'] as const;
const OVERRIDES = ['Migrate', 'ShutdownRestartElsewhere', 'ShutdownRestartAfter', 'ShutdownStayOff'] as const;

/** Each run's healthy nodes, next to its target: where its VMs can go. */
const SPARES = 2;
export const sparesOf = (plan: Pick<ChaosPlan, 'seed'>) =>
  Array.from({ length: SPARES }, (_, i) => `c${plan.seed}-spare-${i + 1}`);

export interface GenerateOptions {
  /** Scales every fault probability (0 = a clean run, 1 = the default mix). */
  intensity?: number;
  /** Allow dev-server restarts (the runner must own the dev server). */
  temporalRestarts?: boolean;
}

export function generatePlan(seed: number, options: GenerateOptions = {}): ChaosPlan {
  const intensity = options.intensity ?? 1;
  const rng = new Prng(seed);
  const cluster = rng.fork('cluster');
  const id = `c${seed}`;
  const namespace = `chaos-${seed}`;
  const node = `${id}-target`;
  const faults: string[] = [];
  const bmc = cluster.pick(['metal3', 'metal3', 'redfish', 'none'] as const);
  const nodeKnobs: Record<string, unknown> = {};
  if (bmc !== 'none' && cluster.chance(0.06 * intensity)) {
    nodeKnobs.powerFails = true;
    faults.push('BMC power actions fail');
  }
  if (bmc !== 'none' && cluster.chance(0.04 * intensity)) {
    nodeKnobs.bmcUnreachable = true;
    faults.push('BMC unreachable');
  }
  if (cluster.chance(0.06 * intensity)) {
    nodeKnobs.neverReady = true;
    faults.push('node never Ready again');
  }

  const vmRng = rng.fork('vms');
  const vmCount = vmRng.int(1, 5);
  const vms: NonNullable<ScenarioInput['vms']> = [];
  const stayOff: string[] = [];
  for (let i = 1; i <= vmCount; i++) {
    const name = `vm-${i}`;
    const standalone = vmRng.chance(0.08);
    const evictionStrategy = vmRng.chance(0.15)
      ? undefined
      : vmRng.pick(STRATEGIES.slice(0, vmRng.chance(0.1) ? 4 : 3));
    const storage = vmRng.pick(['none', 'rwx', 'rwx', 'rwo'] as const);
    const override = !standalone && vmRng.chance(0.2) ? vmRng.pick(OVERRIDES) : undefined;
    const knobs: Record<string, unknown> = { migrationDuration: `${vmRng.int(200, 1500)}ms` };
    if (vmRng.chance(0.2 * intensity)) {
      knobs.migrationFailures = vmRng.int(1, 3);
      faults.push(`${name}: first ${String(knobs.migrationFailures)} migrations fail`);
    }
    if (vmRng.chance(0.05 * intensity)) {
      knobs.migrationStuck = 'Pending';
      faults.push(`${name}: migrations hang in Pending`);
    }
    if (vmRng.chance(0.05 * intensity)) {
      knobs.migrationAbortFails = true;
      faults.push(`${name}: migration abort fails`);
    }
    if (vmRng.chance(0.04 * intensity)) {
      knobs.stopHangs = true;
      faults.push(`${name}: guest ignores shutdown`);
    }
    vms.push({
      name,
      namespace,
      node,
      memory: '2Gi',
      standalone,
      evictionStrategy,
      runStrategy: standalone ? 'Always' : vmRng.pick(RUN_STRATEGIES),
      storage,
      terminationGracePeriodSeconds: 1,
      labels: override ? { [STRATEGY_LABEL]: override } : {},
      knobs,
    });
    if (override === 'ShutdownStayOff') stayOff.push(`${namespace}/${name}`);
  }

  const scenario: ScenarioInput = {
    name: id,
    kubevirt: { evictionStrategy: 'LiveMigrate' },
    nodes: [
      { name: node, memory: '64Gi', bmc, ...nodeKnobs },
      { name: `${id}-spare-{n}`, count: SPARES, memory: '64Gi', bmc: 'none' },
    ],
    vms,
  };

  const crash = generateCrash(seed, bmc, intensity);
  faults.push(...crash.faults);
  const stormRng = rng.fork('storm');
  const stormAtMs = stormRng.chance(0.08 * intensity) ? stormRng.int(200, 4000) : undefined;
  if (stormAtMs !== undefined) faults.push(`alert storm at ${stormAtMs} ms: KubeNodeNotReady for the node and spares`);

  const inputRng = rng.fork('input');
  const input = {
    mode: crash.failure.kind === 'crashedBefore' ? crash.failure.mode : ('auto' as const),
    hold: inputRng.chance(0.3) ? ('untilReleased' as const) : ('none' as const),
    parallelMigrations: inputRng.int(1, 3),
    onNonMigratable: inputRng.pick(['ask', 'ask', 'shutdown', 'abort'] as const),
    onTimeout: inputRng.pick(['abort', 'shutdown'] as const),
  };
  const answers = Array.from({ length: 6 }, () => inputRng.pick(['shutdown', 'retry', 'delete', 'ignore'] as const));

  const faultRng = rng.fork('faults');
  const level = faultRng.pick([0, 0.02, 0.05, 0.1] as const) * intensity;
  const rates: FaultRates = {
    error5xx: level,
    throttle429: level / 2,
    reset: level / 2,
    slow: level,
    watchDrop: Math.min(1, level * 3),
  };
  if (level > 0)
    faults.push(`API faults at ${Math.round(level * 100)}% (5xx), watch drops ${Math.round(rates.watchDrop * 100)}%`);
  const actions: ChaosPlan['actions'] = {};
  if (faultRng.chance(0.15 * intensity)) {
    actions.cancelAtMs = faultRng.int(500, 8000);
    faults.push(`cancel at ${actions.cancelAtMs} ms`);
  }
  if (faultRng.chance(0.3 * intensity)) {
    actions.killWorkerAtMs = [faultRng.int(300, 6000)];
    if (faultRng.chance(0.3)) actions.killWorkerAtMs.push(actions.killWorkerAtMs[0]! + faultRng.int(2000, 10000));
    faults.push(`worker SIGKILL at ${actions.killWorkerAtMs.join(', ')} ms`);
  }
  if (options.temporalRestarts !== false && faultRng.chance(0.15 * intensity)) {
    actions.restartTemporalAtMs = faultRng.int(300, 6000);
    faults.push(`Temporal dev server restart at ${actions.restartTemporalAtMs} ms`);
  }
  return { seed, namespace, node, bmc, scenario, stayOff, input, crash, stormAtMs, rates, actions, answers, faults };
}
