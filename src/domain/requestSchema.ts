/**
 * The structure of the `nodeMaintenance` workflow input (what a user types; only `node` is required). zod checks
 * it; inputProblems.ts turns what zod finds into our own messages.
 */
import { z } from 'zod';
import { describeValue, flag, kubernetesName, oneOf, text } from './inputFields.js';
import { policySchema } from './policy.js';

export const POWER_PROVIDERS = ['auto', 'metal3', 'redfish', 'none'] as const;
export const HOLD_MODES = ['untilReleased', 'none'] as const;
/** When the cluster-wide admission says "not now": wait in the queue (default) or end refused at once. */
export const ADMISSION_MODES = ['wait', 'refuse'] as const;
/**
 * Which runbook: `planned` drains a healthy node (live migration first), `repair` fences a failed one and lets its
 * VMs restart elsewhere, `auto` picks repair when the node has been NotReady for `policy.repair.notReadyFor`.
 */
export const MAINTENANCE_MODES = ['auto', 'planned', 'repair'] as const;

export type PowerProvider = (typeof POWER_PROVIDERS)[number];
export type HoldMode = (typeof HOLD_MODES)[number];
export type AdmissionMode = (typeof ADMISSION_MODES)[number];
export type MaintenanceMode = (typeof MAINTENANCE_MODES)[number];

/** Why a BMC address is unusable; never repeats an address that carries credentials. */
function addressProblem(address: string): string | undefined {
  if (address.includes('@')) {
    return 'must not contain credentials: put them in the Secret named in redfish.credentialsSecret';
  }
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/i.exec(address);
  if (!match) return `${describeValue(address)} is not a URL (expected e.g. "https://10.0.0.5")`;
  if (match[1]?.toLowerCase() !== 'https')
    return `must use https, not ${match[1] ?? ''}: the BMC password travels over it`;
  const host = match[2] ?? '';
  if (!/^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:\d{1,5})?$/i.test(host)) {
    return `${describeValue(address)} has no valid host`;
  }
  return undefined;
}

const redfishSchema = z.strictObject({
  address: z.string().superRefine((address, ctx) => {
    const problem = addressProblem(address);
    // No `input` on this issue: an address may carry a password, and issues can end up in logs.
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  }),
  systemId: z.string().min(1, { error: 'must not be empty (leave it out to use the only system)' }).optional(),
  credentialsSecret: z.strictObject({ namespace: kubernetesName('namespace'), name: kubernetesName('secret') }),
  insecureSkipVerify: flag(false),
});

/** The structure of the workflow input. Exported for the HTTP API's OpenAPI document (`z.toJSONSchema`). */
export const maintenanceInputSchema = z.strictObject({
  node: kubernetesName('node'),
  mode: oneOf(MAINTENANCE_MODES).default('auto'),
  reason: text(1024).optional(),
  requestedBy: text(253).optional(),
  power: oneOf(POWER_PROVIDERS).default('auto'),
  redfish: redfishSchema.optional(),
  hold: oneOf(HOLD_MODES).default('untilReleased'),
  dryRun: flag(false),
  admission: oneOf(ADMISSION_MODES).default('wait'),
  policy: policySchema.prefault({}),
});

/** What a user types: only `node` is required; `policy` is a deep-partial override with durations as text. */
export type MaintenanceInput = z.input<typeof maintenanceInputSchema>;
/** The input after zod: every default filled in, durations still as text. */
export type ParsedMaintenanceInput = z.output<typeof maintenanceInputSchema>;
