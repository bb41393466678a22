// KubeVirt's stop/start subresources (what `virtctl stop`/`virtctl start` call): PUT
// /apis/subresources.kubevirt.io/v1/namespaces/{ns}/virtualmachines/{name}/{stop|start}. For a Manual or
// RerunOnFailure VM virt-api leaves spec.runStrategy alone and queues a request in status.stateChangeRequests
// that virt-controller carries out (kubevirt/kubevirt pkg/virt-api/rest/lifecycle.go `StopVMRequestHandler`,
// `StartVMRequestHandler`; pkg/virt-controller/watch/vm/vm.go `syncRunStrategy`), so GitOps tools see no change
// of the spec they own.
import { KUBEVIRT_SUBRESOURCES } from '../../domain/contract.js';
import { KubeApiError, paths, type KubeClient } from '../../k8s/client.js';

/** Strategies whose VMs are stopped and started through a request that keeps spec.runStrategy as it is. */
export const KEPT_BY_SUBRESOURCE: readonly string[] = ['Manual', 'RerunOnFailure'];

export type StateChangeAnswer =
  /** virt-api took the request (202). */
  | 'Accepted'
  /** 409 "VM is not running" (a stop) or "VM is already running" (a start): already as asked. */
  | 'AlreadyDone'
  /** The API server does not serve subresources.kubevirt.io (no KubeVirt virt-api, or an older one). */
  | 'NotServed';

/**
 * Asks virt-api to stop or start a VM. Other refusals (a Conflict of another kind, the VM gone, a request
 * already underway) are thrown as they come, for the caller to classify.
 */
export async function requestStateChange(
  client: KubeClient,
  input: { namespace: string; name: string; action: 'stop' | 'start' },
): Promise<StateChangeAnswer> {
  const { group, version } = KUBEVIRT_SUBRESOURCES;
  const path = paths.resource(group, version, 'virtualmachines', input.namespace, input.name, input.action);
  const kind = input.action === 'stop' ? 'StopOptions' : 'StartOptions';
  try {
    await client.request('PUT', path, { apiVersion: `${group}/${version}`, kind });
    return 'Accepted';
  } catch (e) {
    if (!(e instanceof KubeApiError)) throw e;
    // virt-api's own 404 names the VM (`virtualmachine.kubevirt.io "<name>" not found`); any other 404 is the API
    // server's, for a group nobody serves.
    if (e.statusCode === 404 && !e.message.includes('virtualmachine.kubevirt.io')) return 'NotServed';
    if (e.statusCode === 409 && /: VM is (not|already) running$/.test(e.message)) return 'AlreadyDone';
    throw e;
  }
}
