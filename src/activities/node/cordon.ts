// Cordon and uncordon: one guarded patch each, with the marks that say who cordoned the node and what it was before.
import { paths, type KubeClient } from '../../k8s/client.js';
import { NODE_MARKS } from '../../domain/contract.js';
import { kube } from '../errors.js';
import { onConflictRetry, readNode, type NodeRef } from './objects.js';

interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

const isPitstopTaint = (t: Taint) => t.key === NODE_MARKS.taint;

export interface CordonResult {
  /** spec.unschedulable before Pitstop first cordoned the node (recorded on the node, so retries agree). */
  wasUnschedulable: boolean;
}

/**
 * Cordons the node for maintenance in ONE patch guarded by its resourceVersion: records who cordoned it and
 * whether it was unschedulable before, sets spec.unschedulable, adds the NoSchedule maintenance taint (other
 * taints kept) and the remediation exclusion label. Idempotent: a retry answers the state recorded by the first
 * attempt. Marks left by another Pitstop workflow (a run that died) are taken over with their recorded state.
 */
export async function cordonNode(client: KubeClient, { node, workflowId }: NodeRef): Promise<CordonResult> {
  return await kube(`cordon ${node}`, () =>
    onConflictRetry(async () => {
      const current = await readNode(client, node);
      const annotations = current.metadata.annotations ?? {};
      const labels = current.metadata.labels ?? {};
      const recorded = annotations[NODE_MARKS.cordonedBy] !== undefined;
      // A missing or unreadable record counts as "was unschedulable": never uncordon on a guess.
      const wasUnschedulable = recorded
        ? annotations[NODE_MARKS.wasUnschedulable] !== 'false'
        : current.spec?.unschedulable === true;
      const wasExcluded = recorded
        ? annotations[NODE_MARKS.wasExcluded] === 'true'
        : labels[NODE_MARKS.excludeFromRemediation] === 'true';
      const taints: Taint[] = current.spec?.taints ?? [];
      const ours = taints.find(isPitstopTaint);
      const complete =
        annotations[NODE_MARKS.cordonedBy] === workflowId &&
        annotations[NODE_MARKS.wasUnschedulable] === String(wasUnschedulable) &&
        annotations[NODE_MARKS.wasExcluded] === String(wasExcluded) &&
        current.spec?.unschedulable === true &&
        ours?.effect === 'NoSchedule' &&
        labels[NODE_MARKS.excludeFromRemediation] === 'true';
      if (complete) return { wasUnschedulable };
      const nextTaints =
        ours?.effect === 'NoSchedule'
          ? taints
          : [...taints.filter((t) => !isPitstopTaint(t)), { key: NODE_MARKS.taint, effect: 'NoSchedule' }];
      await client.patch(paths.node(node), {
        metadata: {
          resourceVersion: current.metadata.resourceVersion,
          annotations: {
            [NODE_MARKS.cordonedBy]: workflowId,
            [NODE_MARKS.wasUnschedulable]: String(wasUnschedulable),
            [NODE_MARKS.wasExcluded]: String(wasExcluded),
          },
          labels: { [NODE_MARKS.excludeFromRemediation]: 'true' },
        },
        spec: { unschedulable: true, taints: nextTaints },
      });
      return { wasUnschedulable };
    }),
  );
}

export interface UncordonResult {
  /** The node carried this workflow's cordon marks (false: nothing was changed). */
  ours: boolean;
  /** spec.unschedulable was set back to false (only when Pitstop cordoned a schedulable node). */
  uncordoned: boolean;
}

/**
 * Undoes cordonNode in one guarded patch: removes the taint, the label (unless it was there before) and the
 * annotations; makes the node schedulable again only if this workflow cordoned it and it was schedulable before.
 * A node this workflow did not cordon (or no longer exists) is left alone.
 */
export async function uncordonNode(client: KubeClient, { node, workflowId }: NodeRef): Promise<UncordonResult> {
  return await kube(`uncordon ${node}`, () =>
    onConflictRetry(async () => {
      const current = await client.find(paths.node(node));
      const annotations = current?.metadata.annotations ?? {};
      if (!current || annotations[NODE_MARKS.cordonedBy] !== workflowId) return { ours: false, uncordoned: false };
      const uncordon = annotations[NODE_MARKS.wasUnschedulable] === 'false';
      const keepLabel = annotations[NODE_MARKS.wasExcluded] === 'true';
      const taints = ((current.spec?.taints ?? []) as Taint[]).filter((t) => !isPitstopTaint(t));
      await client.patch(paths.node(node), {
        metadata: {
          resourceVersion: current.metadata.resourceVersion,
          annotations: {
            [NODE_MARKS.cordonedBy]: null,
            [NODE_MARKS.wasUnschedulable]: null,
            [NODE_MARKS.wasExcluded]: null,
          },
          ...(keepLabel ? {} : { labels: { [NODE_MARKS.excludeFromRemediation]: null } }),
        },
        spec: { taints: taints.length > 0 ? taints : null, ...(uncordon ? { unschedulable: null } : {}) },
      });
      return { ours: true, uncordoned: uncordon };
    }),
  );
}
