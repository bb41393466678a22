// Proves the NodeMaintenance controller's leader election and its RBAC (deploy/rbac.yaml's
// pitstop-nodemaintenance-leader Role) on the sandbox API server with the RBAC authorizer on: two replicas,
// authenticated as deploy/'s ServiceAccount, share the Lease pitstop/pitstop-nodemaintenance-controller; one leads,
// the other follows; when the leader stops it releases the Lease and the other takes over. The ServiceAccount may
// touch no other Lease in that namespace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paths, type KubeClient } from '../../src/k8s/client.js';
import { LEASE_NAME, runWhileLeader } from '../../src/controller/nodeMaintenance/leader.js';
import { eventually, startTestEnv, type TestEnv } from '../support/env.js';
import { renderDeploy } from './kustomize.js';
import { serviceAccountClient } from './serviceAccount.js';

let env: TestEnv;
let saKube: KubeClient;
const NS = 'pitstop';

beforeAll(async () => {
  env = await startTestEnv({
    worker: false,
    scenario: { name: 'controller-lease', nodes: [{ name: 'cp-{n}', count: 3, controlPlane: true, memory: '64Gi' }] },
  });
  saKube = await serviceAccountClient(env, renderDeploy());
});

afterAll(async () => {
  saKube?.close();
  await env?.stop();
});

/** A controller replica: `leading` says whether its `lead` runs right now; `logs` what it said. */
function replica(identity: string) {
  const stop = new AbortController();
  const state = { identity, leading: false, logs: [] as string[], stop: async () => undefined as unknown };
  const done = runWhileLeader(
    { kube: saKube, namespace: NS, identity, retryMs: 200, signal: stop.signal, log: (l) => state.logs.push(l) },
    async (signal) => {
      state.leading = true;
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      state.leading = false;
    },
  );
  state.stop = async () => {
    stop.abort();
    await done;
  };
  return state;
}

const lease = () => env.kube.get(paths.lease(NS, LEASE_NAME));

describe('leader election with the Lease, as the ServiceAccount', () => {
  it('one replica leads, the other follows; a stopping leader hands over at once', async () => {
    const a = replica('pod-a');
    const b = replica('pod-b');
    try {
      const [leader, follower] = await eventually('a leader and a follower', async () => {
        const pair = a.leading ? [a, b] : b.leading ? [b, a] : undefined;
        return pair && pair[1]!.logs.some((l) => l.includes(`follows ${pair[0]!.identity}`)) ? pair : undefined;
      });
      expect(follower!.leading).toBe(false);
      expect((await lease()).spec.holderIdentity).toBe(leader!.identity);
      expect(follower!.logs.filter((l) => /forbidden/i.test(l))).toEqual([]);

      await leader!.stop();
      expect(leader!.leading).toBe(false);
      await eventually('the follower leads', async () => follower!.leading);
      expect((await lease()).spec).toMatchObject({ holderIdentity: follower!.identity, leaseTransitions: 1 });
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('the ServiceAccount may not write any other Lease in its namespace', async () => {
    const may = async (verb: string, name?: string) =>
      (
        await saKube.request<{ status: { allowed: boolean } }>(
          'POST',
          '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
          {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: {
              resourceAttributes: { verb, group: 'coordination.k8s.io', resource: 'leases', namespace: NS, name },
            },
          },
        )
      ).status.allowed;
    expect(await may('patch', LEASE_NAME)).toBe(true);
    expect(await may('patch', 'someone-else')).toBe(false);
    expect(await may('delete', LEASE_NAME)).toBe(false);
  });
});
