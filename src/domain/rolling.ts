/**
 * The input of the `rollingMaintenance` workflow (many nodes, one after another, at most `maxUnavailable` at once);
 * its progress is in rollingProgress.ts. Validated with the same conventions as the node request: every problem reported at
 * once, one line each, starting with the field path.
 */
import { z } from 'zod';
import { durationProblem, parseDuration } from './durations.js';
import { InvalidInputError } from './errors.js';
import { nameProblem } from './names.js';
import { maintenanceInputSchema, parseMaintenanceRequest, type MaintenanceRequest } from './request.js';

export const ROLLING_ORDERS = ['name', 'fewestVms'] as const;
export type RollingOrder = (typeof ROLLING_ORDERS)[number];

export const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a time of day such as "22:00"' });

const windowSchema = z.strictObject({
  /** Days on which a window *opens*; a window from 22:00 to 06:00 opened on Sat runs into Sunday morning. */
  days: z
    .array(z.enum(WEEKDAYS))
    .min(1)
    .default([...WEEKDAYS]),
  start: clock,
  end: clock,
  /** IANA time zone, e.g. "Europe/Berlin". */
  timeZone: z.string().default('UTC'),
});

/** A node's maintenance as the roll starts it: the node input minus the node itself (and never a dry run). */
const templateSchema = maintenanceInputSchema.omit({ node: true, dryRun: true }).extend({
  // A rolling upgrade reboots nodes and goes on; holding every node for a human is opt-in.
  hold: maintenanceInputSchema.shape.hold.removeDefault().default('none'),
  // A roll is planned maintenance: a node of the fleet found failed is drained (its VMs escalate when they cannot
  // move), never fenced by a roll unless its template says `mode: repair` or `auto`.
  mode: maintenanceInputSchema.shape.mode.removeDefault().default('planned'),
});

function duration(defaultValue: string) {
  return z
    .string()
    .superRefine((text, ctx) => {
      const problem = durationProblem(text);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default(defaultValue);
}

export const rollingInputSchema = z.strictObject({
  /** Names the roll: its workflow id is `rolling-<name>`. */
  name: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, { error: 'expected a DNS label like "fw-2026-11"' }),
  /** A Kubernetes label selector (`node-role.kubernetes.io/worker`, `rack=r12,!gpu`). Exactly one of selector, nodes. */
  selector: z.string().min(1).optional(),
  nodes: z.array(z.string()).min(1).optional(),
  maxUnavailable: z.int().min(1).max(100).default(1),
  maxFailures: z.int().min(0).max(1000).default(0),
  order: z.enum(ROLLING_ORDERS).default('name'),
  window: windowSchema.optional(),
  pauseBetweenNodes: duration('0s'),
  template: templateSchema.prefault({}),
  requestedBy: z.string().max(253).optional(),
  /** Continue-as-new after this many history events even if Temporal has not suggested it yet (tests use it). */
  continueAsNewAfterEvents: z.int().min(20).optional(),
});

export type RollingInput = z.input<typeof rollingInputSchema>;

export interface MaintenanceWindow {
  days: Weekday[];
  start: string;
  end: string;
  timeZone: string;
}

export interface RollingRequest {
  name: string;
  selector?: string;
  nodes?: string[];
  maxUnavailable: number;
  maxFailures: number;
  order: RollingOrder;
  window?: MaintenanceWindow;
  pauseBetweenNodesMs: number;
  /** Normalized per-node request with `node` left empty: the workflow fills it in per node. */
  template: Omit<MaintenanceRequest, 'node'>;
  requestedBy?: string;
  continueAsNewAfterEvents?: number;
}

export const rollingWorkflowIdFor = (name: string) => `rolling-${name}`;

/** Whether the runtime knows this IANA time zone (the same tz data the worker uses for windows). */
export function validTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** Validates and normalizes a rolling maintenance input; throws InvalidInputError listing every problem. */
export function parseRollingRequest(input: unknown): RollingRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidInputError('input: expected a JSON object like {"name": "fw-upgrade", "selector": "role=worker"}');
  }
  const result = rollingInputSchema.safeParse(input);
  const problems: string[] = result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : 'input'}: ${issue.message}`);
  if (!result.success) throw new InvalidInputError(problems);
  const data = result.data;
  if ((data.selector === undefined) === (data.nodes === undefined)) {
    problems.push('selector, nodes: give exactly one of them');
  }
  for (const node of data.nodes ?? []) {
    const problem = nameProblem(node, 'node');
    if (problem !== undefined) problems.push(`nodes: ${problem}`);
  }
  if (data.nodes && new Set(data.nodes).size !== data.nodes.length) problems.push('nodes: a node is listed twice');
  if (data.window && !validTimeZone(data.window.timeZone)) {
    problems.push(`window.timeZone: ${JSON.stringify(data.window.timeZone)} is not an IANA time zone`);
  }
  if (data.window && data.window.start === data.window.end) problems.push('window: start and end are the same time');
  let template: Omit<MaintenanceRequest, 'node'> | undefined;
  try {
    // The node request's own checks (power/redfish, timeouts) applied to the template.
    const { node: _node, ...rest } = parseMaintenanceRequest({ ...data.template, node: 'template' });
    template = rest;
  } catch (error) {
    if (error instanceof InvalidInputError) problems.push(...error.issues.map((issue) => `template.${issue}`));
    else throw error;
  }
  if (problems.length > 0 || template === undefined) throw new InvalidInputError(problems);
  return {
    name: data.name,
    ...(data.selector !== undefined && { selector: data.selector }),
    ...(data.nodes !== undefined && { nodes: data.nodes }),
    maxUnavailable: data.maxUnavailable,
    maxFailures: data.maxFailures,
    order: data.order,
    ...(data.window !== undefined && { window: data.window }),
    pauseBetweenNodesMs: parseDuration(data.pauseBetweenNodes),
    template,
    ...(data.requestedBy !== undefined && { requestedBy: data.requestedBy }),
    ...(data.continueAsNewAfterEvents !== undefined && { continueAsNewAfterEvents: data.continueAsNewAfterEvents }),
  };
}
