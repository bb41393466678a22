// Which power provider switches a node's machine, decided in preflight before anything changes.
import { paths, type KubeClient, type KubeObject } from '../../k8s/client.js';
import { BMH_ANNOTATION, MACHINE, MACHINE_ANNOTATION } from '../../domain/contract.js';
import type { PowerProvider, RedfishTarget } from '../../domain/request.js';
import { kube } from '../errors.js';
import { bmhPath } from './metal3.js';
import { readBmcSecret } from './redfish.js';
import { POWER_FAILURE, nonRetryable, type ObjectRef, type ResolvedPowerProvider } from './types.js';

const machinePath = (ns: string, name: string) =>
  paths.resource(MACHINE.group, MACHINE.version, MACHINE.plural, ns, name);

/** "ns/name"; a bare name takes `defaultNamespace` when given. */
function parseRef(value: string | undefined, defaultNamespace?: string): ObjectRef | undefined {
  if (!value) return undefined;
  const parts = value.split('/');
  if (parts.length === 2 && parts[0] && parts[1]) return { namespace: parts[0], name: parts[1] };
  if (parts.length === 1 && parts[0] && defaultNamespace) return { namespace: defaultNamespace, name: parts[0] };
  return undefined;
}

// Which provider

/**
 * The BareMetalHost behind a node: Node annotation `machine.openshift.io/machine` → Machine → its annotation
 * `metal3.io/BareMetalHost`; else the BareMetalHost in the Machine's namespace whose spec.consumerRef names that
 * Machine. Undefined when the node, its Machine or a host is missing (or Metal3 is not installed).
 */
export async function findBareMetalHost(client: KubeClient, node: string): Promise<ObjectRef | undefined> {
  return await kube(`finding the BareMetalHost of node ${node}`, async () => {
    const nodeObject = await client.find(paths.node(node));
    const machine = parseRef(nodeObject?.metadata.annotations?.[MACHINE_ANNOTATION]);
    if (!machine) return undefined;
    const machineObject = await client.find(machinePath(machine.namespace, machine.name));
    const annotated = parseRef(machineObject?.metadata.annotations?.[BMH_ANNOTATION], machine.namespace);
    if (annotated && (await client.find(bmhPath(annotated.namespace, annotated.name)))) return annotated;
    let hosts: KubeObject[];
    try {
      hosts = (await client.list(bmhPath(machine.namespace))).items;
    } catch (e) {
      // No BareMetalHost CRD: not a Metal3 cluster.
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw e;
    }
    const consumer = hosts.find((h) => {
      const ref = h.spec?.consumerRef as { kind?: string; name?: string; namespace?: string } | undefined;
      return (
        ref?.name === machine.name &&
        (ref.kind ?? 'Machine') === 'Machine' &&
        (ref.namespace ?? h.metadata.namespace) === machine.namespace
      );
    });
    return consumer
      ? { namespace: consumer.metadata.namespace ?? machine.namespace, name: consumer.metadata.name }
      : undefined;
  });
}

/**
 * Decides how the node's power is switched, failing (non-retryable) on what cannot work, before anything changes:
 * `auto` = Metal3 when a BareMetalHost maps to the node, else none; `metal3` needs a BareMetalHost; `redfish` needs
 * its credentials Secret with `username` and `password` (the BMC itself is not called here).
 */
export async function resolvePowerProvider(
  client: KubeClient,
  input: { node: string; power: PowerProvider; redfish?: RedfishTarget },
): Promise<ResolvedPowerProvider> {
  switch (input.power) {
    case 'none':
      return { kind: 'none' };
    case 'auto': {
      const bmh = await findBareMetalHost(client, input.node);
      return bmh ? { kind: 'metal3', bmh } : { kind: 'none' };
    }
    case 'metal3': {
      const bmh = await findBareMetalHost(client, input.node);
      if (!bmh) {
        throw nonRetryable(POWER_FAILURE.noBareMetalHost, `node ${input.node} has no BareMetalHost (power: metal3)`);
      }
      return { kind: 'metal3', bmh };
    }
    case 'redfish': {
      if (!input.redfish) {
        throw nonRetryable(POWER_FAILURE.noRedfishTarget, 'power is redfish but no redfish target is given');
      }
      await readBmcSecret(client, input.redfish.credentialsSecret);
      const { address, systemId, credentialsSecret, insecureSkipVerify } = input.redfish;
      return {
        kind: 'redfish',
        address,
        ...(systemId !== undefined && { systemId }),
        credentialsSecret: { namespace: credentialsSecret.namespace, name: credentialsSecret.name },
        insecureSkipVerify,
      };
    }
  }
}
