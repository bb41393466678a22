// Runs `lead` only while this replica holds the controller's Lease (decisions: src/domain/leaderElection.ts). Every
// RETRY_MS it creates, takes, renews or just reads the Lease; a write carries the resourceVersion it read, so two
// replicas racing for an expired Lease cannot both win. Losing the Lease, or failing to renew it in time, aborts
// `lead`; stopping (signal) aborts it, waits for it, and releases the Lease so a follower takes over at once.
import { isConflict, paths, type KubeClient, type KubeObject } from '../../k8s/client.js';
import { electionStep, mustStepDown, releasedSpec, type ElectionConfig } from '../../domain/leaderElection.js';

export const LEASE_NAME = 'pitstop-nodemaintenance-controller';
export const LEASE_DURATION_SECONDS = 15;
export const RETRY_MS = 2000;

export interface LeaderOptions extends Partial<ElectionConfig> {
  kube: KubeClient;
  namespace: string;
  identity: string;
  name?: string;
  retryMs?: number;
  signal: AbortSignal;
  log?: (line: string) => void;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export async function runWhileLeader(options: LeaderOptions, lead: (signal: AbortSignal) => Promise<void>) {
  const { kube, namespace, signal } = options;
  const name = options.name ?? LEASE_NAME;
  const config = {
    identity: options.identity,
    leaseDurationSeconds: options.leaseDurationSeconds ?? LEASE_DURATION_SECONDS,
  };
  const log = options.log ?? (() => undefined);
  const path = paths.lease(namespace, name);
  let leading: { abort: AbortController; done: Promise<void> } | undefined;
  let renewedAt = 0;
  let following: string | undefined;

  const stepDown = async (why: string) => {
    if (!leading) return;
    log(`leader election: ${config.identity} stops leading (${why})`);
    leading.abort.abort();
    await leading.done;
    leading = undefined;
  };

  while (!signal.aborted) {
    try {
      const lease = await kube.find(path);
      const step = electionStep(lease, config, new Date());
      if (step.kind === 'follow') {
        await stepDown(`${step.holder} holds the lease`);
        if (step.holder !== following) log(`leader election: ${config.identity} follows ${step.holder}`);
        following = step.holder;
      } else {
        following = undefined;
        if (step.kind === 'create') {
          await kube.create(paths.leases(namespace), {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: step.spec,
          });
        } else {
          await kube.patch(path, { metadata: { resourceVersion: lease!.metadata.resourceVersion }, spec: step.spec });
        }
        renewedAt = Date.now();
        if (!leading) {
          log(
            `leader election: ${config.identity} leads${step.kind === 'take' && step.from ? ` (after ${step.from})` : ''}`,
          );
          const abort = new AbortController();
          leading = { abort, done: lead(abort.signal).catch((e: unknown) => log(`leader: ${(e as Error).message}`)) };
        }
      }
    } catch (e) {
      // A conflict: another replica wrote first; anything else: the API server is away. Either way, keep leading
      // only while the last renew is recent enough that nobody can have taken the Lease.
      if (!isConflict(e)) log(`leader election: ${(e as Error).message}`);
      if (leading && mustStepDown(renewedAt, Date.now(), config.leaseDurationSeconds)) await stepDown('renew failed');
    }
    await sleep(options.retryMs ?? RETRY_MS, signal);
  }
  if (!leading) return;
  await stepDown('stopping');
  await release(kube, path, config.identity).catch((e: unknown) =>
    log(`leader election: release: ${(e as Error).message}`),
  );
}

async function release(kube: KubeClient, path: string, identity: string): Promise<void> {
  const lease: KubeObject | undefined = await kube.find(path);
  if (lease?.spec?.holderIdentity !== identity) return;
  await kube.patch(path, { metadata: { resourceVersion: lease.metadata.resourceVersion }, spec: releasedSpec() });
}
