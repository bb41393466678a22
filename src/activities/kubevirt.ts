// KubeVirt objects: VMIs on a node (with what the plan needs to know about each), migrations, the KubeVirt CR;
// and the KubeVirt side of maintenance: start/adopt, wait for and cancel migrations; stop, restore and delete VMs.
//
// The actions are plain async functions taking a KubeClient first; the workflow's activities wrap them. Waits are
// driven by watches (resumed from the last resourceVersion, re-listed after 410 Gone), never by fixed-interval polling.
// A wait takes optional `heartbeat`, `resumeFrom` and `signal`; inside a Temporal activity pass
//   heartbeat: (d) => Context.current().heartbeat(d),
//   resumeFrom: Context.current().info.heartbeatDetails,
//   signal: Context.current().cancellationSignal,
// so a retried activity resumes its clock (migration clocks come from the VMIM itself) and cancellation stops it.
// Failures are short ApplicationFailures (they go into the workflow history).
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import {
  KubeApiError,
  isAlreadyExists,
  isConflict,
  isNotFound,
  paths,
  type KubeClient,
  type KubeObject,
  type WatchEvent,
} from '../k8s/client.js';
import { parseQuantity } from '../domain/quantity.js';
import { STRATEGY_LABEL, restoreSteps, type VmFacts } from '../domain/plan.js';
import { classify, kube } from './errors.js';

export const KUBEVIRT = { group: 'kubevirt.io', version: 'v1' };
export const kv = (plural: string, ns?: string, name?: string, sub?: string) =>
  paths.resource(KUBEVIRT.group, KUBEVIRT.version, plural, ns, name, sub);

const FINAL_MIGRATION_PHASES = new Set(['Succeeded', 'Failed']);

/** The cluster-wide default eviction strategy (KubeVirt CR, in whichever namespace the operator installed it). */
export async function clusterEvictionStrategy(client: KubeClient): Promise<string | undefined> {
  const list = await client.list(kv('kubevirts'));
  return list.items[0]?.spec?.configuration?.evictionStrategy;
}

function launcherMemory(pod: KubeObject | undefined): number | undefined {
  if (!pod) return undefined;
  return (pod.spec?.containers ?? []).reduce(
    (sum: number, c: { resources?: { requests?: { memory?: string } } }) =>
      sum + (parseQuantity(c.resources?.requests?.memory) ?? 0),
    0,
  );
}

function vmiGuestMemory(vmi: KubeObject): number {
  const domain = vmi.spec?.domain ?? {};
  return parseQuantity(domain.resources?.requests?.memory) ?? parseQuantity(domain.memory?.guest) ?? 0;
}

export function toVmFacts(
  vmi: KubeObject,
  vm: KubeObject | undefined,
  launcher: KubeObject | undefined,
  inFlight: KubeObject | undefined,
): VmFacts {
  const migratable = (vmi.status?.conditions ?? []).find((c: { type: string }) => c.type === 'LiveMigratable');
  const owner = vmi.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'VirtualMachine');
  return {
    namespace: vmi.metadata.namespace ?? 'default',
    name: vmi.metadata.name,
    nodeName: vmi.status?.nodeName ?? '',
    phase: vmi.status?.phase ?? '',
    ownedByVm: !!owner,
    runStrategy: vm ? runStrategyOf(vm) : undefined,
    evictionStrategy: vmi.spec?.evictionStrategy,
    liveMigratable: migratable?.status === 'True',
    notMigratableReason: migratable?.status === 'False' ? migratable.reason : undefined,
    notMigratableMessage: migratable?.status === 'False' ? migratable.message : undefined,
    strategyLabel: vm?.metadata.labels?.[STRATEGY_LABEL] ?? vmi.metadata.labels?.[STRATEGY_LABEL],
    memoryBytes: launcherMemory(launcher) ?? vmiGuestMemory(vmi),
    nodeSelector: vmi.spec?.nodeSelector,
    migrationInFlight: inFlight?.metadata.name,
  };
}

/** The VMIs on `node`, described for the plan: owner VM, launcher pod memory, any migration in flight. */
export async function vmsOnNode(client: KubeClient, node: string): Promise<VmFacts[]> {
  const [vmis, launchers] = await Promise.all([
    client.list(kv('virtualmachineinstances'), { labelSelector: `kubevirt.io/nodeName=${node}` }),
    client.list(paths.pods(), { labelSelector: 'kubevirt.io=virt-launcher', fieldSelector: `spec.nodeName=${node}` }),
  ]);
  const migrations = await migrationsOfVmis(client, vmis.items);
  const facts: VmFacts[] = [];
  for (const vmi of vmis.items) {
    const ns = vmi.metadata.namespace ?? 'default';
    const owner = vmi.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'VirtualMachine');
    const vm = owner ? await client.find(kv('virtualmachines', ns, owner.name)) : undefined;
    const launcher = launchers.items.find((p) => p.metadata.labels?.['kubevirt.io/created-by'] === vmi.metadata.uid);
    const inFlight = migrations.items.find(
      (m) =>
        m.metadata.namespace === ns &&
        m.spec?.vmiName === vmi.metadata.name &&
        !FINAL_MIGRATION_PHASES.has(m.status?.phase ?? ''),
    );
    facts.push(toVmFacts(vmi, vm, launcher, inFlight));
  }
  return facts;
}

/**
 * The migrations of these VMIs, found by KubeVirt's `kubevirt.io/vmi-name` label (set on every VMIM), not by
 * listing every migration in the cluster: finished VMIMs pile up (KubeVirt keeps 5 per VMI), and a cluster-wide
 * list grows with the cluster while the node's VMIs do not.
 */
async function migrationsOfVmis(client: KubeClient, vmis: KubeObject[]): Promise<{ items: KubeObject[] }> {
  const names = [...new Set(vmis.map((v) => v.metadata.name))].sort();
  if (names.length === 0) return { items: [] };
  return await client.list(kv('virtualmachineinstancemigrations'), {
    labelSelector: `kubevirt.io/vmi-name in (${names.join(',')})`,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Maintenance actions

/** VM annotation holding the runStrategy a maintenance stopped it from (removed when it is restored). */
export const PREVIOUS_RUN_STRATEGY = 'pitstop.io/previous-run-strategy';
/** Label (sanitized) and annotation (verbatim) naming the workflow that created a migration. */
export const WORKFLOW_ID_LABEL = 'pitstop.io/workflow-id';
export const VMI_NAME_LABEL = 'kubevirt.io/vmi-name';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

const vmimPath = (ns: string, name?: string) => kv('virtualmachineinstancemigrations', ns, name);
const vmiPath = (ns: string, name?: string) => kv('virtualmachineinstances', ns, name);
const vmPath = (ns: string, name?: string) => kv('virtualmachines', ns, name);

const shortHash = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length);
const seconds = (ms: number) => `${Math.round(ms / 100) / 10}s`;
const isFinal = (m: KubeObject | undefined) => FINAL_MIGRATION_PHASES.has(m?.status?.phase ?? '');

/** A label value from any string: kept when valid, else sanitized, cut and made unique with a hash. */
export function labelValue(text: string): string {
  if (/^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$/.test(text)) return text;
  const cleaned = text
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .slice(0, 54)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return cleaned ? `${cleaned}-${shortHash(text, 8)}` : shortHash(text, 8);
}

/**
 * The name of the migration Pitstop creates for one attempt: `pitstop-<vmi>-<attempt>-<hash>`, at most 63
 * characters. Deterministic, so a retried activity finds the object an earlier try created; the hash of the
 * workflow (and run) id keeps a later maintenance by the same workflow id from mistaking an old VMIM for its own.
 */
export function migrationName(input: { vmi: string; attempt: number; workflowId: string; runId?: string }): string {
  const suffix = `-${input.attempt}-${shortHash(`${input.workflowId}\n${input.runId ?? ''}`, 6)}`;
  const room = 63 - 'pitstop-'.length - suffix.length;
  const vmi = input.vmi.slice(0, room).replace(/[^a-z0-9]+$/, '');
  return `pitstop-${vmi}${suffix}`;
}

/** Details a waiting activity heartbeats: the phase it sees, and when its clock started (epoch ms). */
export interface WaitDetails {
  phase: string;
  since: number;
}

export interface WaitControls {
  /** Called on every phase change and at least every `heartbeatIntervalMs` (default 5 s). */
  heartbeat?: (details: WaitDetails) => void;
  heartbeatIntervalMs?: number;
  /** The last heartbeat details of an earlier try: the wait keeps its clock. */
  resumeFrom?: Partial<WaitDetails>;
  /** Aborting stops the wait; it rejects with the signal's reason. */
  signal?: AbortSignal;
}

type Verdict<R> = { done: R } | { recheckAt?: number };

/**
 * Watches one object by name until `decide` says done: list (fieldSelector metadata.name), then watch from the
 * list's resourceVersion, resuming after a closed stream and re-listing after 410 Gone. `decide` sees the object
 * (undefined = absent) on every change and again at the time it asks for (deadlines) and at each heartbeat.
 */
async function watchObject<R>(
  client: KubeClient,
  what: string,
  collection: string,
  name: string,
  /** When the wait's clock started (reported in heartbeats); read after each decision. */
  since: () => number,
  phaseOf: (object: KubeObject | undefined) => string,
  decide: (object: KubeObject | undefined, now: number) => Verdict<R>,
  controls: WaitControls,
): Promise<R> {
  const interval = Math.min(controls.heartbeatIntervalMs ?? 5000, 10_000);
  const fieldSelector = `metadata.name=${name}`;
  return await new Promise<R>((resolve, reject) => {
    let settled = false;
    let listed = false;
    let current: KubeObject | undefined;
    let resourceVersion = '';
    let timer: NodeJS.Timeout | undefined;
    let stream: AbortController | undefined;
    let lastPhase: string | undefined;
    let lastBeat = 0;

    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream?.abort();
      controls.signal?.removeEventListener('abort', onAbort);
      settle();
    };
    const onAbort = () => finish(() => reject(controls.signal?.reason ?? new Error(`${what}: cancelled`)));
    if (controls.signal?.aborted) return onAbort();
    controls.signal?.addEventListener('abort', onAbort, { once: true });

    const evaluate = () => {
      if (settled || !listed) return;
      try {
        const now = Date.now();
        const verdict = decide(current, now);
        const phase = phaseOf(current);
        if (phase !== lastPhase || now - lastBeat >= interval) {
          lastPhase = phase;
          lastBeat = now;
          controls.heartbeat?.({ phase, since: since() });
        }
        if ('done' in verdict) return finish(() => resolve(verdict.done));
        clearTimeout(timer);
        const next = Math.min(verdict.recheckAt ?? Infinity, lastBeat + interval);
        timer = setTimeout(evaluate, Math.max(0, next - Date.now()));
      } catch (e) {
        finish(() => reject(e));
      }
    };

    const run = async () => {
      let failures = 0;
      while (!settled) {
        try {
          if (!resourceVersion) {
            const list = await client.list(collection, { fieldSelector });
            if (settled) return;
            current = list.items[0];
            resourceVersion = list.metadata.resourceVersion ?? '';
            listed = true;
            evaluate();
            if (settled) return;
          }
          let broken = false;
          stream = new AbortController();
          await client.watch(
            collection,
            { fieldSelector, resourceVersion, timeoutSeconds: 290 },
            (event: WatchEvent<KubeObject>) => {
              if (event.type === 'ERROR') {
                broken = true; // 410 Gone (resourceVersion too old) or another watch error: re-list
                return;
              }
              resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
              if (event.type === 'BOOKMARK') return;
              current = event.type === 'DELETED' ? undefined : event.object;
              evaluate();
            },
            stream.signal,
          );
          if (broken) resourceVersion = '';
          failures = 0;
        } catch (e) {
          if (settled) return;
          const status = e instanceof KubeApiError ? e.statusCode : 0;
          if (status === 410) {
            resourceVersion = '';
            continue;
          }
          failures += 1;
          if ((status >= 400 && status < 500 && status !== 429) || failures > 5) throw e;
          if (failures > 2) resourceVersion = ''; // events may have been missed
          await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** failures)));
        }
      }
    };
    run().catch((e: unknown) => finish(() => reject(classify(e, what))));
  });
}

const timestamp = (text: string | undefined) => {
  const ms = text ? Date.parse(text) : NaN;
  return Number.isFinite(ms) ? ms : undefined;
};

/** A VMI's phase as a wait reports it: Absent, Stopping (being deleted) or its status.phase. */
const vmiPhase = (vmi: KubeObject | undefined): string =>
  !vmi ? 'Absent' : vmi.metadata.deletionTimestamp ? 'Stopping' : (vmi.status?.phase ?? 'Pending');

// ----- migrations --------------------------------------------------------------------------------------------

export interface StartMigrationInput {
  namespace: string;
  vmi: string;
  workflowId: string;
  /** The workflow run id, if known: part of the migration's name (see migrationName). */
  runId?: string;
  attempt: number;
}

export interface StartedMigration {
  name: string;
  /** True when a migration someone else started (e.g. kubevirt-evacuation-*) was already in flight. */
  adopted: boolean;
}

async function inFlightMigrationOf(client: KubeClient, ns: string, vmi: string): Promise<KubeObject | undefined> {
  const list = await client.list(vmimPath(ns), { labelSelector: `${VMI_NAME_LABEL}=${vmi}` });
  return list.items
    .filter((m) => m.spec?.vmiName === vmi && !isFinal(m))
    .sort((a, b) => Number(!!a.metadata.deletionTimestamp) - Number(!!b.metadata.deletionTimestamp))[0];
}

/** KubeVirt's admission refusal, as a short non-retryable failure. */
function refusal(e: KubeApiError, ns: string, vmi: string): ApplicationFailure {
  const text = e.message.replace(/^.*?denied the request: /, '');
  const reason = /Reason: (\w+)/.exec(text)?.[1];
  const [type, message] = reason
    ? ['NotMigratable', `cannot migrate ${ns}/${vmi}: ${reason}`]
    : /not running/i.test(text)
      ? ['VmiNotRunning', `cannot migrate ${ns}/${vmi}: ${text.slice(0, 120)}`]
      : /does not exist/i.test(text)
        ? ['VmiNotFound', `cannot migrate ${ns}/${vmi}: the VMI does not exist`]
        : ['MigrationRefused', `cannot migrate ${ns}/${vmi}: ${text.slice(0, 160)}`];
  return ApplicationFailure.create({ message, type, nonRetryable: true, details: reason ? [reason] : undefined });
}

/**
 * Starts a live migration of a VMI, or adopts the one already in flight (a KubeVirt evacuation, or ours from an
 * earlier try). The VMIM's name is deterministic, so a retry never creates a second one.
 * KubeVirt's refusal (not migratable, not running) is a non-retryable failure with its short reason.
 */
export async function startMigration(client: KubeClient, input: StartMigrationInput): Promise<StartedMigration> {
  const { namespace: ns, vmi } = input;
  const name = migrationName(input);
  const what = `migrating ${ns}/${vmi}`;
  for (let round = 0; round < 3; round++) {
    const inFlight = await kube(what, () => inFlightMigrationOf(client, ns, vmi));
    if (inFlight) {
      if (inFlight.metadata.deletionTimestamp) {
        throw ApplicationFailure.create({
          message: `${what}: migration ${inFlight.metadata.name} is being cancelled`,
          type: 'MigrationCancelling',
        });
      }
      return { name: inFlight.metadata.name, adopted: inFlight.metadata.name !== name };
    }
    try {
      await client.create(vmimPath(ns), {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstanceMigration',
        metadata: {
          name,
          namespace: ns,
          labels: {
            [VMI_NAME_LABEL]: vmi,
            [WORKFLOW_ID_LABEL]: labelValue(input.workflowId),
            [MANAGED_BY_LABEL]: 'pitstop',
          },
          annotations: { [WORKFLOW_ID_LABEL]: input.workflowId },
        },
        spec: { vmiName: vmi },
      });
      return { name, adopted: false };
    } catch (e) {
      if (isAlreadyExists(e)) {
        // An earlier try created it (and it may have finished since): it is ours.
        const existing = await kube(what, () => client.get(vmimPath(ns, name)));
        if (existing.spec?.vmiName !== vmi) {
          throw ApplicationFailure.create({
            message: `${what}: migration ${name} exists for VMI ${String(existing.spec?.vmiName)}`,
            type: 'MigrationNameTaken',
            nonRetryable: true,
          });
        }
        return { name, adopted: false };
      }
      if (e instanceof KubeApiError && e.statusCode === 422) {
        if (/in-flight migration/i.test(e.message)) continue; // one started meanwhile: adopt it
        throw refusal(e, ns, vmi);
      }
      throw classify(e, what);
    }
  }
  throw ApplicationFailure.create({ message: `${what}: migrations keep appearing and ending`, type: 'MigrationRace' });
}

export type MigrationOutcome = 'Succeeded' | 'Failed' | 'Stuck' | 'TimedOut' | 'Gone';

export interface MigrationResult {
  outcome: MigrationOutcome;
  /** The VMIM's last phase seen ('' if none yet). */
  phase: string;
  sourceNode?: string;
  targetNode?: string;
  /** Where the VMI runs now (read when the migration ended or disappeared). */
  nodeName?: string;
  failureReason?: string;
}

export interface WaitForMigrationInput extends WaitControls {
  namespace: string;
  name: string;
  /** Overall limit, counted from the VMIM's creation. */
  timeoutMs: number;
  /** Limit on waiting in Pending/Scheduling (no slot, no room for the target), counted from the VMIM's creation. */
  pendingTimeoutMs: number;
}

const NOT_STARTED = new Set(['', 'Pending', 'Scheduling']);

/** What the VMI says about one migration: its migrationState when it belongs to that VMIM. */
async function migrationStateFor(client: KubeClient, ns: string, m: KubeObject | undefined) {
  if (!m?.spec?.vmiName) return { state: undefined, nodeName: undefined };
  const vmi = await client.find(vmiPath(ns, m.spec.vmiName));
  const state = vmi?.status?.migrationState;
  return {
    state: state && state.migrationUid === m.metadata.uid ? state : undefined,
    nodeName: vmi?.status?.nodeName as string | undefined,
  };
}

/** The phase a VMIM was in before it failed, for a reason when KubeVirt gives none. */
function phaseBeforeFailure(m: KubeObject): string | undefined {
  const phases = ((m.status?.phaseTransitionTimestamps ?? []) as { phase: string }[]).map((t) => t.phase);
  return phases.filter((p) => p !== 'Failed').pop();
}

/**
 * Waits until a migration ends (Succeeded/Failed), is stuck in Pending/Scheduling past `pendingTimeoutMs`, runs
 * past `timeoutMs`, or disappears (Gone: deleted). Both clocks start at the VMIM's creation, so a restarted
 * activity does not restart them. It never cancels the migration: that is the caller's choice.
 */
export async function waitForMigration(client: KubeClient, input: WaitForMigrationInput): Promise<MigrationResult> {
  const { namespace: ns, name } = input;
  const what = `waiting for migration ${ns}/${name}`;
  const fallbackStart = input.resumeFrom?.since ?? Date.now();
  let seen: KubeObject | undefined;
  const startOf = (m: KubeObject | undefined) => timestamp(m?.metadata.creationTimestamp) ?? fallbackStart;
  const pendingSince = (m: KubeObject) => {
    const first = ((m.status?.phaseTransitionTimestamps ?? []) as { phaseTransitionTimestamp?: string }[])[0];
    return timestamp(first?.phaseTransitionTimestamp) ?? startOf(m);
  };
  const end = await watchObject<{ outcome: MigrationOutcome; m: KubeObject | undefined; detail?: string }>(
    client,
    what,
    vmimPath(ns),
    name,
    () => startOf(seen),
    (m) => (m ? m.status?.phase || 'Pending' : 'Gone'),
    (m, now) => {
      if (!m || (seen && m.metadata.uid !== seen.metadata.uid)) return { done: { outcome: 'Gone', m: seen } };
      seen = m;
      const phase: string = m.status?.phase ?? '';
      if (phase === 'Succeeded' || phase === 'Failed') return { done: { outcome: phase, m } };
      const deadline = startOf(m) + input.timeoutMs;
      if (now >= deadline) {
        return { done: { outcome: 'TimedOut', m, detail: `not done after ${seconds(now - startOf(m))}` } };
      }
      if (NOT_STARTED.has(phase)) {
        const stuckAt = pendingSince(m) + input.pendingTimeoutMs;
        if (now >= stuckAt) {
          const waited = seconds(now - pendingSince(m));
          return { done: { outcome: 'Stuck', m, detail: `still ${phase || 'Pending'} after ${waited}` } };
        }
        return { recheckAt: Math.min(deadline, stuckAt) };
      }
      return { recheckAt: deadline };
    },
    input,
  );
  const phase: string = end.m?.status?.phase ?? '';
  const result: MigrationResult = { outcome: end.outcome, phase };
  if (end.detail) result.failureReason = end.detail;
  if (end.outcome === 'Stuck' || end.outcome === 'TimedOut') return result;
  const { state, nodeName } = await kube(what, () => migrationStateFor(client, ns, end.m));
  if (state?.sourceNode) result.sourceNode = state.sourceNode;
  if (state?.targetNode) result.targetNode = state.targetNode;
  if (nodeName) result.nodeName = nodeName;
  if (end.outcome === 'Succeeded') {
    result.targetNode ??= nodeName;
  } else if (end.outcome === 'Failed') {
    const before = end.m ? phaseBeforeFailure(end.m) : undefined;
    result.failureReason = state?.failureReason ?? (before ? `failed in phase ${before}` : 'failed');
  } else if (state?.completed) {
    result.failureReason = 'the migration object was deleted after it completed';
  } else {
    result.failureReason = 'the migration object was deleted';
  }
  return result;
}

export interface CancelMigrationInput extends WaitControls {
  namespace: string;
  name: string;
  /** How long to wait for the abort to take (default 60 s). */
  timeoutMs?: number;
}

export interface CancelResult {
  /**
   * Cancelled: the migration ended without moving the VMI (aborted, or it had failed already);
   * Completed: it finished anyway (past the point of abort); TimedOut: still in flight; NotFound: no such VMIM.
   */
  outcome: 'Cancelled' | 'Completed' | 'TimedOut' | 'NotFound';
  /** The VMIM's last phase seen. */
  phase: string;
  /** Whether the VMI is on the node it was migrating from (undefined when unknown). */
  stayedOnSource?: boolean;
  sourceNode?: string;
  nodeName?: string;
}

/**
 * Cancels a migration by deleting its VMIM (KubeVirt aborts it), then waits until the VMIM is gone or final and
 * reports where the VMI is. A migration already finished is left alone (its record stays).
 */
export async function cancelMigration(client: KubeClient, input: CancelMigrationInput): Promise<CancelResult> {
  const { namespace: ns, name } = input;
  const what = `cancelling migration ${ns}/${name}`;
  const m = await kube(what, () => client.find(vmimPath(ns, name)));
  if (!m) return { outcome: 'NotFound', phase: '' };
  const before = await kube(what, () => migrationStateFor(client, ns, m));
  const sourceNode: string | undefined = before.state?.sourceNode ?? before.nodeName;
  let last = m;
  if (!isFinal(m)) {
    await kube(what, async () => {
      try {
        await client.delete(vmimPath(ns, name));
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    });
    const since = input.resumeFrom?.since ?? Date.now();
    const timeoutMs = input.timeoutMs ?? 60_000;
    const ended = await watchObject<boolean>(
      client,
      what,
      vmimPath(ns),
      name,
      () => since,
      (o) => (o ? o.status?.phase || 'Pending' : 'Gone'),
      (o, now) => {
        if (!o || o.metadata.uid !== m.metadata.uid) return { done: true };
        last = o;
        if (isFinal(o)) return { done: true };
        return now >= since + timeoutMs ? { done: false } : { recheckAt: since + timeoutMs };
      },
      input,
    );
    if (!ended) return { outcome: 'TimedOut', phase: last.status?.phase ?? '', sourceNode };
  }
  const after = await kube(what, () => migrationStateFor(client, ns, last));
  const phase: string = last.status?.phase ?? '';
  const completed = phase === 'Succeeded' || !!after.state?.completed;
  const result: CancelResult = { outcome: completed ? 'Completed' : 'Cancelled', phase };
  if (sourceNode) result.sourceNode = sourceNode;
  if (after.nodeName) result.nodeName = after.nodeName;
  if (sourceNode) result.stayedOnSource = after.nodeName === sourceNode;
  return result;
}

export interface InFlightMigration {
  namespace: string;
  name: string;
  vmi: string;
  phase: string;
  /** Created by Pitstop (managed-by label), with the workflow id it was labelled with. */
  ours: boolean;
  workflowId?: string;
  /** Deletion requested (being aborted). */
  cancelling: boolean;
}

/** Migrations not finished whose VMI runs on `node` (KubeVirt evacuations, ours, anyone's). */
export async function migrationsInFlight(client: KubeClient, input: { node: string }): Promise<InFlightMigration[]> {
  return await kube(`listing migrations from ${input.node}`, async () => {
    const vmis = await client.list(kv('virtualmachineinstances'), {
      labelSelector: `kubevirt.io/nodeName=${input.node}`,
    });
    const migrations = await migrationsOfVmis(
      client,
      vmis.items.filter((v) => v.status?.nodeName === input.node),
    );
    const onNode = new Set(
      vmis.items
        .filter((v) => v.status?.nodeName === input.node)
        .map((v) => `${v.metadata.namespace}/${v.metadata.name}`),
    );
    return migrations.items
      .filter((m) => !isFinal(m) && onNode.has(`${m.metadata.namespace}/${m.spec?.vmiName}`))
      .map((m) => {
        const labels = m.metadata.labels ?? {};
        const row: InFlightMigration = {
          namespace: m.metadata.namespace ?? 'default',
          name: m.metadata.name,
          vmi: m.spec?.vmiName,
          phase: m.status?.phase ?? '',
          ours: labels[MANAGED_BY_LABEL] === 'pitstop',
          cancelling: !!m.metadata.deletionTimestamp,
        };
        const workflowId = m.metadata.annotations?.[WORKFLOW_ID_LABEL] ?? labels[WORKFLOW_ID_LABEL];
        if (workflowId) row.workflowId = workflowId;
        return row;
      })
      .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  });
}

// ----- stopping and restoring VMs ----------------------------------------------------------------------------

/** The VM's runStrategy; legacy spec.running true = Always, false or neither set = Halted (KubeVirt's default). */
export function runStrategyOf(vm: KubeObject): string {
  if (vm.spec?.runStrategy) return vm.spec.runStrategy;
  return vm.spec?.running === true ? 'Always' : 'Halted';
}

export interface StopVmResult {
  /** The runStrategy recorded before maintenance stopped the VM (the first stop's, on a retry). */
  previousRunStrategy: string;
  /** The VMI that is stopping, if one exists (for waitForVmiGone). */
  vmiUid?: string;
}

/**
 * Stops a VM: records its runStrategy in the annotation pitstop.io/previous-run-strategy (only if not recorded yet,
 * so a retry never records Halted), and sets runStrategy Halted (removing legacy spec.running), in one patch
 * guarded by the resourceVersion. KubeVirt then shuts the guest down gracefully and deletes the VMI.
 */
export async function stopVm(client: KubeClient, input: { namespace: string; name: string }): Promise<StopVmResult> {
  const { namespace: ns, name } = input;
  const what = `stopping VM ${ns}/${name}`;
  for (let round = 0; ; round++) {
    const vm = await kube(what, () => client.get(vmPath(ns, name)));
    const recorded = vm.metadata.annotations?.[PREVIOUS_RUN_STRATEGY];
    const previousRunStrategy = recorded ?? runStrategyOf(vm);
    try {
      if (recorded === undefined || vm.spec?.runStrategy !== 'Halted' || vm.spec?.running !== undefined) {
        await client.patch(vmPath(ns, name), {
          metadata: {
            resourceVersion: vm.metadata.resourceVersion,
            annotations: { [PREVIOUS_RUN_STRATEGY]: previousRunStrategy },
          },
          spec: { runStrategy: 'Halted', running: null },
        });
      }
    } catch (e) {
      if (isConflict(e) && round < 5) continue;
      throw classify(e, what);
    }
    const vmi = await kube(what, () => client.find(vmiPath(ns, name)));
    const result: StopVmResult = { previousRunStrategy };
    if (vmi?.metadata.uid) result.vmiUid = vmi.metadata.uid;
    return result;
  }
}

export interface VmiGoneResult {
  outcome: 'Gone' | 'TimedOut';
  /** The VMI's phase when the wait ended (Stopping while it is being deleted). */
  phase: string;
}

/** Waits until the VMI is gone (or replaced by another VMI than `uid`), at most `timeoutMs` from the first try. */
export async function waitForVmiGone(
  client: KubeClient,
  input: WaitControls & { namespace: string; name: string; uid?: string; timeoutMs: number },
): Promise<VmiGoneResult> {
  const since = input.resumeFrom?.since ?? Date.now();
  const deadline = since + input.timeoutMs;
  return await watchObject<VmiGoneResult>(
    client,
    `waiting for VMI ${input.namespace}/${input.name} to stop`,
    vmiPath(input.namespace),
    input.name,
    () => since,
    vmiPhase,
    (vmi, now) => {
      if (!vmi || (input.uid && vmi.metadata.uid !== input.uid)) return { done: { outcome: 'Gone', phase: 'Absent' } };
      return now >= deadline ? { done: { outcome: 'TimedOut', phase: vmiPhase(vmi) } } : { recheckAt: deadline };
    },
    input,
  );
}

export interface RestoreVmResult {
  /** False when there was nothing recorded (never stopped by maintenance, or already restored). */
  restored: boolean;
  runStrategy: string;
}

/**
 * Puts back the runStrategy recorded by stopVm and removes the record; a second call does nothing.
 * A VM whose strategy needs an explicit start (Manual, see restoreSteps) is started the portable way: runStrategy
 * Always until its VMI exists, then the recorded strategy (a Manual VM keeps a running VMI). The record stays until
 * the last step, so a retry after a crash redoes the steps. `startTimeoutMs` (default 60 s) bounds that start.
 */
export async function restoreVm(
  client: KubeClient,
  input: { namespace: string; name: string; startTimeoutMs?: number; signal?: AbortSignal },
): Promise<RestoreVmResult> {
  const { namespace: ns, name } = input;
  const what = `restoring VM ${ns}/${name}`;
  const vm = await kube(what, () => client.get(vmPath(ns, name)));
  const recorded = vm.metadata.annotations?.[PREVIOUS_RUN_STRATEGY];
  if (recorded === undefined) return { restored: false, runStrategy: runStrategyOf(vm) };
  const steps = restoreSteps(recorded);
  if (steps.start) {
    if (vm.spec?.runStrategy !== 'Always' || vm.spec?.running !== undefined) {
      await kube(what, () => client.patch(vmPath(ns, name), { spec: { runStrategy: 'Always', running: null } }));
    }
    const since = Date.now();
    const deadline = since + (input.startTimeoutMs ?? 60_000);
    const started = await watchObject<boolean>(
      client,
      what,
      vmiPath(ns),
      name,
      () => since,
      vmiPhase,
      (vmi, now) =>
        vmi && !vmi.metadata.deletionTimestamp
          ? { done: true }
          : now >= deadline
            ? { done: false }
            : { recheckAt: deadline },
      { signal: input.signal },
    );
    if (!started) {
      throw ApplicationFailure.create({
        message: `${what}: no VMI within ${seconds(deadline - since)} of runStrategy Always`,
        type: 'VmNotStarted',
      });
    }
  }
  await kube(what, () =>
    client.patch(vmPath(ns, name), {
      metadata: { annotations: { [PREVIOUS_RUN_STRATEGY]: null } },
      spec: { runStrategy: steps.runStrategy, running: null },
    }),
  );
  return { restored: true, runStrategy: steps.runStrategy };
}

export interface VmiRunningResult {
  outcome: 'Running' | 'TimedOut';
  phase: string;
  nodeName?: string;
}

/** Waits until the VMI runs (phase Running, not being deleted), at most `timeoutMs` from the first try. */
export async function waitForVmiRunning(
  client: KubeClient,
  input: WaitControls & { namespace: string; name: string; timeoutMs: number },
): Promise<VmiRunningResult> {
  const since = input.resumeFrom?.since ?? Date.now();
  const deadline = since + input.timeoutMs;
  return await watchObject<VmiRunningResult>(
    client,
    `waiting for VMI ${input.namespace}/${input.name} to run`,
    vmiPath(input.namespace),
    input.name,
    () => since,
    vmiPhase,
    (vmi, now) => {
      const phase = vmiPhase(vmi);
      if (phase === 'Running') return { done: { outcome: 'Running', phase, nodeName: vmi?.status?.nodeName } };
      return now >= deadline ? { done: { outcome: 'TimedOut', phase } } : { recheckAt: deadline };
    },
    input,
  );
}

/**
 * Deletes a VMI (a standalone one the operator chose to delete: it cannot come back). 404 = done. With `uid`, only
 * that VMI is deleted (a precondition), so a retry cannot delete a newer VMI of the same name.
 */
export async function deleteVmi(
  client: KubeClient,
  input: { namespace: string; name: string; uid?: string },
): Promise<{ deleted: boolean }> {
  const what = `deleting VMI ${input.namespace}/${input.name}`;
  try {
    const body = input.uid ? { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: input.uid } } : undefined;
    await client.delete(vmiPath(input.namespace, input.name), undefined, body);
    return { deleted: true };
  } catch (e) {
    if (isNotFound(e) || (input.uid && isConflict(e))) return { deleted: false };
    throw classify(e, what);
  }
}

export interface VmiOffNodeResult {
  /** Moved: runs on another node; Gone: no VMI any more (stopped or deleted); TimedOut: still on the node. */
  outcome: 'Moved' | 'Gone' | 'TimedOut';
  phase: string;
  nodeName?: string;
}

/**
 * Waits until a VMI no longer runs on `node` (an External eviction strategy: another controller moves it), at most
 * `timeoutMs` from the first try.
 */
export async function waitForVmiOffNode(
  client: KubeClient,
  input: WaitControls & { namespace: string; name: string; node: string; timeoutMs: number },
): Promise<VmiOffNodeResult> {
  const since = input.resumeFrom?.since ?? Date.now();
  const deadline = since + input.timeoutMs;
  return await watchObject<VmiOffNodeResult>(
    client,
    `waiting for VMI ${input.namespace}/${input.name} to leave ${input.node}`,
    vmiPath(input.namespace),
    input.name,
    () => since,
    vmiPhase,
    (vmi, now) => {
      const phase = vmiPhase(vmi);
      if (!vmi) return { done: { outcome: 'Gone', phase } };
      const nodeName: string | undefined = vmi.status?.nodeName;
      if (phase === 'Running' && nodeName && nodeName !== input.node) {
        return { done: { outcome: 'Moved', phase, nodeName } };
      }
      return now >= deadline ? { done: { outcome: 'TimedOut', phase, nodeName } } : { recheckAt: deadline };
    },
    input,
  );
}
