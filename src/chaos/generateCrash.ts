// The node-failure part of a chaos plan, drawn from its own fork of the seed ('crash') so adding it shifts no other
// part's draws: a crash of the target node before the maintenance (the run asks mode auto or repair and should take
// the repair runbook, docs/repair.md), a crash in the middle of a planned drain, BMC faults that make fencing
// unconfirmable, and how the simulated operator answers the `node/<node>` decision (confirmFenced only when the
// machine really is off or crashed-and-forced-off, otherwise abort).
// Generated only: run.ts/runOne.ts/disruptions.ts do not apply these choices yet (see docs/reliability.md).
import type { Bmc } from './generate.js';
import { Prng } from './prng.js';

export type NodeFailure =
  { kind: 'none' } | { kind: 'crashedBefore'; mode: 'auto' | 'repair' } | { kind: 'crashDuringDrain'; atMs: number };

export type BmcFault = 'none' | 'unreachable' | 'powerFails';

export interface CrashPlan {
  failure: NodeFailure;
  bmcFault: BmcFault;
  /** The operator's answer to a `node/<node>` fencing decision. */
  fenceAnswer: 'confirmFenced' | 'abort';
  faults: string[];
}

/** A fencing decision may be confirmed only when the machine is known off: no BMC fault hides its state. */
export function fenceAnswerFor(failure: NodeFailure, bmcFault: BmcFault, bmc: Bmc): 'confirmFenced' | 'abort' {
  if (failure.kind === 'none') return 'abort';
  // A crashed node whose BMC can still force it off is off once fenced; an unreachable BMC, failing power actions
  // or no BMC at all leave the machine's state unknown to the operator of a chaos run: abort.
  return bmc !== 'none' && bmcFault === 'none' ? 'confirmFenced' : 'abort';
}

export function generateCrash(seed: number, bmc: Bmc, intensity = 1): CrashPlan {
  const rng = new Prng(seed).fork('crash');
  const faults: string[] = [];
  let failure: NodeFailure = { kind: 'none' };
  const roll = rng.next();
  if (roll < 0.1 * intensity) {
    failure = { kind: 'crashedBefore', mode: rng.pick(['auto', 'auto', 'repair'] as const) };
    faults.push(`node crashed before the maintenance (mode ${failure.mode})`);
  } else if (roll < 0.18 * intensity) {
    failure = { kind: 'crashDuringDrain', atMs: rng.int(300, 4000) };
    faults.push(`node crashes mid-drain at ${failure.atMs} ms`);
  }
  let bmcFault: BmcFault = 'none';
  if (failure.kind !== 'none' && bmc !== 'none' && rng.chance(0.3 * intensity)) {
    bmcFault = rng.pick(['unreachable', 'powerFails'] as const);
    faults.push(
      bmcFault === 'unreachable' ? 'BMC unreachable during the crash' : 'BMC power actions fail during the crash',
    );
  }
  const fenceAnswer = fenceAnswerFor(failure, bmcFault, bmc);
  if (failure.kind !== 'none') faults.push(`operator answers node decision: ${fenceAnswer}`);
  return { failure, bmcFault, fenceAnswer, faults };
}
