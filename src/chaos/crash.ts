// A chaos run's node failure, applied through the sandbox's knobs as a broken machine would show it
// (docs/sandbox.md): the OS dies while the machine stays on, and the plan's BMC fault hides or breaks its power
// control from that moment on. Before the maintenance, the runner waits for the node to be seen NotReady (as a
// real alert only fires then); mid-drain, the crash lands only while the run is still draining, so "a node that
// crashed mid-drain" means exactly that in the report.
import { paths, type KubeClient } from '../k8s/client.js';
import { bmhPath } from '../sandbox/context.js';
import { KNOB } from '../sandbox/model.js';
import { MACHINE_NAMESPACE } from '../sandbox/scenario.js';
import type { Phase } from '../domain/progress.js';
import { nodeReadiness } from '../domain/nodeReadiness.js';
import type { ChaosPlan } from './generate.js';
import { sleep } from './retry.js';

/** The phases of a planned run in which its node can be said to crash "mid-drain". */
export const DRAIN_PHASES: readonly Phase[] = ['Cordon', 'EvacuateVMs', 'EvictPods'];

/** Crashes the plan's node and applies its BMC fault where the sandbox's BMC reads it (BareMetalHost or Node). */
export async function crashNode(kube: KubeClient, plan: ChaosPlan): Promise<void> {
  const fault = plan.crash.bmcFault;
  const knob = fault === 'unreachable' ? KNOB.bmcUnreachable : fault === 'powerFails' ? KNOB.powerFails : undefined;
  if (knob && plan.bmc === 'metal3') {
    await kube.patch(bmhPath(MACHINE_NAMESPACE, plan.node), { metadata: { annotations: { [knob]: 'true' } } });
  }
  const annotations: Record<string, string> = { [KNOB.crashed]: 'true' };
  if (knob && plan.bmc === 'redfish') annotations[knob] = 'true';
  await kube.patch(paths.node(plan.node), { metadata: { annotations } });
}

/** Waits (up to `ms`) until the node's Ready condition is no longer True: the node controller saw the crash. */
export async function untilNotReady(kube: KubeClient, node: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const { status } = nodeReadiness(node, await kube.get(paths.node(node)));
    if (status === 'False' || status === 'Unknown') return;
    if (Date.now() > deadline) throw new Error(`node ${node} still Ready ${ms / 1000}s after its crash`);
    await sleep(200);
  }
}
