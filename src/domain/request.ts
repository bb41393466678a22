/**
 * The input of the `nodeMaintenance` workflow: what a user types (MaintenanceInput, only `node` required) and its
 * normalized form (MaintenanceRequest: every default filled in, durations in milliseconds).
 *
 * The entry for callers: the structure lives in requestSchema.ts, the policy and its defaults in policy.ts, the
 * messages in inputProblems.ts. All problems are reported at once (a user fixing a JSON object wants the full list).
 */
import { InvalidInputError } from './errors.js';
import { formatIssues, inputErrorMap, notAnObjectProblem, powerProblems, timeoutProblems } from './inputProblems.js';
import { toPolicy, toPolicyInput, type MaintenancePolicy } from './policy.js';
import {
  maintenanceInputSchema,
  type AdmissionMode,
  type HoldMode,
  type MaintenanceInput,
  type MaintenanceMode,
  type ParsedMaintenanceInput,
  type PowerProvider,
} from './requestSchema.js';

// The request's own vocabulary, so a caller imports the request from one place.
export { DEFAULT_POLICY, type MaintenancePolicy } from './policy.js';
export {
  maintenanceInputSchema,
  type MaintenanceInput,
  type MaintenanceMode,
  type PowerProvider,
} from './requestSchema.js';

export interface RedfishTarget {
  /** https URL of the BMC. */
  address: string;
  /** Redfish ComputerSystem id; absent = the BMC's only system. */
  systemId?: string;
  /** Secret with keys `username` and `password`, read by the power activity. */
  credentialsSecret: { namespace: string; name: string };
  insecureSkipVerify: boolean;
}

export interface MaintenanceRequest {
  node: string;
  /** The runbook asked for; `auto` is decided at preflight (src/domain/repairMode.ts). */
  mode: MaintenanceMode;
  reason?: string;
  requestedBy?: string;
  power: PowerProvider;
  /** Present exactly when power is 'redfish'. */
  redfish?: RedfishTarget;
  hold: HoldMode;
  dryRun: boolean;
  /** Not admitted now: wait for room (`wait`) or end refused (`refuse`). */
  admission: AdmissionMode;
  policy: MaintenancePolicy;
}

function toRedfishTarget(redfish: NonNullable<ParsedMaintenanceInput['redfish']>): RedfishTarget {
  const { address, systemId, credentialsSecret, insecureSkipVerify } = redfish;
  return { address, ...(systemId !== undefined && { systemId }), credentialsSecret, insecureSkipVerify };
}

function toRequest(input: ParsedMaintenanceInput): MaintenanceRequest {
  const { node, mode, reason, requestedBy, power, redfish, hold, dryRun, admission } = input;
  // Absent optional fields stay absent (not `undefined`), so the JSON in workflow history stays clean.
  return {
    node,
    mode,
    ...(reason !== undefined && { reason }),
    ...(requestedBy !== undefined && { requestedBy }),
    power,
    ...(redfish !== undefined && { redfish: toRedfishTarget(redfish) }),
    hold,
    dryRun,
    admission,
    policy: toPolicy(input.policy),
  };
}

/**
 * The input form of a normalized request (durations written back as text). parseMaintenanceRequest of it gives the
 * same request: used to hand a request on, e.g. from rolling maintenance to its per-node children.
 */
export function toMaintenanceInput(request: MaintenanceRequest): MaintenanceInput {
  return { ...request, policy: toPolicyInput(request.policy) };
}

/**
 * Validates and normalizes the workflow input. Throws InvalidInputError listing every problem, one per line,
 * each starting with its field path.
 */
export function parseMaintenanceRequest(input: unknown): MaintenanceRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidInputError(notAnObjectProblem(input));
  }
  const result = maintenanceInputSchema.safeParse(input, { error: inputErrorMap });
  const problems = [
    ...(result.success ? [] : formatIssues(input, result.error.issues)),
    ...powerProblems(input as Record<string, unknown>),
  ];
  if (problems.length > 0 || !result.success) throw new InvalidInputError(problems);
  const request = toRequest(result.data);
  const late = timeoutProblems(request.policy);
  if (late.length > 0) throw new InvalidInputError(late);
  return request;
}
