import { describe, expect, it } from 'vitest';
import { workflowIdFor, workflowIdProblem } from '../../src/domain/workflowNames.js';

describe('workflowIdProblem: a maintenance runs under the id the API, CLI, alerts and rolls look it up by', () => {
  it('accepts maintenance-<node>, and a #-tagged id of that node (test harnesses)', () => {
    expect(workflowIdProblem(workflowIdFor('worker-1'), 'worker-1', false)).toBeUndefined();
    expect(workflowIdProblem('maintenance-worker-1#a1b2c3d4', 'worker-1', false)).toBeUndefined();
  });

  it("refuses another node's id, a dash tag and a free name, naming the id to use", () => {
    // `maintenance-worker-1-gpu` is the id of the node worker-1-gpu: a dash tag would take that node's run id.
    expect(workflowIdProblem('maintenance-worker-1-gpu', 'worker-1', false)).toMatch(
      /^workflow id "maintenance-worker-1-gpu": a maintenance of worker-1 runs as workflow id "maintenance-worker-1"/,
    );
    expect(workflowIdProblem('maintenance-worker-2', 'worker-1', false)).toMatch(
      /runs as workflow id "maintenance-worker-1"/,
    );
    expect(workflowIdProblem('my-test', 'worker-1', false)).toMatch(
      /start it again with that id; nothing was changed$/,
    );
  });

  it('lets a dry run go under any id: it changes nothing and nobody needs to find it', () => {
    expect(workflowIdProblem('plan-worker-1-1a2b3c4d', 'worker-1', true)).toBeUndefined();
    expect(workflowIdProblem('my-test', 'worker-1', true)).toBeUndefined();
  });
});
