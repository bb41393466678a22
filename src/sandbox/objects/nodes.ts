// A scenario node: the Node, its BareMetalHost and BMC Secret (Metal3), and the hardware knobs the sandbox's
// kubelet and BMC read from its annotations.
import { randomBytes, randomUUID } from 'node:crypto';
import { paths, type KubeClient } from '../../k8s/client.js';
import { createIgnoringExisting } from './create.js';
import { bmhPath } from '../context.js';
import { ANNOTATION, GVR, HW, KNOB, LABEL, nodeReadyCondition, nowIso, rfc3339Now } from '../model.js';
import { BMC_NAMESPACE, MACHINE_NAMESPACE, type BmcCredential, type NodeSpec } from '../scenario.js';

export async function createNode(client: KubeClient, node: NodeSpec): Promise<BmcCredential[]> {
  const taints =
    node.controlPlane && !node.schedulable
      ? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]
      : undefined;
  // virt-handler (a DaemonSet that does not tolerate the control-plane taint) labels the nodes it runs on and keeps
  // their heartbeat fresh (kubevirt/kubevirt pkg/virt-handler/heartbeat/heartbeat.go); every launcher pod selects on
  // the label. A scenario's own label "false" keeps virt-handler off the node (no heartbeat, never schedulable).
  const virtHandler = !taints && node.labels[LABEL.schedulable] !== 'false';
  const nodeLabels: Record<string, string> = {
    ...(virtHandler ? { [LABEL.schedulable]: 'true' } : {}),
    [LABEL.hostname]: node.name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    ...(node.controlPlane
      ? { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/master': '' }
      : { 'node-role.kubernetes.io/worker': '' }),
    ...node.labels,
  };
  const annotations: Record<string, string> = {
    [HW.power]: 'on',
    [HW.powerChangedAt]: new Date(0).toISOString(),
    // virt-handler ran on the node before whatever the scenario says about it (a crashed node's goes stale).
    ...(virtHandler ? { [ANNOTATION.heartbeat]: rfc3339Now() } : {}),
  };
  const knob = (key: string, value: string | boolean | undefined) => {
    if (value !== undefined) annotations[key] = String(value);
  };
  knob(KNOB.bootDelay, node.bootDelay);
  knob(KNOB.powerDelay, node.powerDelay);
  knob(KNOB.neverReady, node.neverReady);
  knob(KNOB.crashed, node.crashed);
  if (node.bmc === 'redfish') {
    knob(KNOB.powerFails, node.powerFails);
    knob(KNOB.bmcUnreachable, node.bmcUnreachable);
  }
  const machineName = `${node.name}-machine`;
  if (node.bmc === 'metal3') annotations['machine.openshift.io/machine'] = `${MACHINE_NAMESPACE}/${machineName}`;
  const created = await createIgnoringExisting(client, paths.nodes(), {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: node.name, labels: nodeLabels, annotations },
    spec: { taints },
  });
  if (created) {
    const capacity = { cpu: node.cpu, memory: node.memory, pods: String(node.pods) };
    const now = nowIso();
    await client.patch(paths.nodeStatus(node.name), {
      status: {
        capacity,
        allocatable: capacity,
        addresses: [
          { type: 'InternalIP', address: '127.0.0.1' },
          { type: 'Hostname', address: node.name },
        ],
        conditions: [nodeReadyCondition(true, now)],
        nodeInfo: {
          kubeletVersion: 'v1.36.3-sandbox',
          osImage: 'Pitstop sandbox',
          architecture: 'amd64',
          operatingSystem: 'linux',
        },
      },
    });
  }
  if (node.bmc === 'none') return [];

  const secretName = `${node.name}-bmc-secret`;
  const credential: BmcCredential = {
    nodeName: node.name,
    secretNamespace: node.bmc === 'metal3' ? MACHINE_NAMESPACE : BMC_NAMESPACE,
    secretName,
    username: 'admin',
    password: randomBytes(12).toString('base64url'),
  };
  const secret = await createIgnoringExisting(client, paths.secrets(credential.secretNamespace), {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName, namespace: credential.secretNamespace },
    stringData: { username: credential.username, password: credential.password },
  });
  if (!secret) {
    // Keep the password the cluster already has, so a restarted sandbox's BMC accepts it.
    const existing = await client.get(paths.secret(credential.secretNamespace, secretName));
    const data = existing.data as Record<string, string>;
    credential.username = Buffer.from(data.username ?? '', 'base64').toString();
    credential.password = Buffer.from(data.password ?? '', 'base64').toString();
  }

  if (node.bmc === 'metal3') {
    const bmhName = node.name;
    await createIgnoringExisting(
      client,
      paths.resource(GVR.machine.group, GVR.machine.version, GVR.machine.plural, MACHINE_NAMESPACE),
      {
        apiVersion: 'machine.openshift.io/v1beta1',
        kind: 'Machine',
        metadata: {
          name: machineName,
          namespace: MACHINE_NAMESPACE,
          annotations: { 'metal3.io/BareMetalHost': `${MACHINE_NAMESPACE}/${bmhName}` },
        },
        spec: {},
      },
    );
    const bmhAnnotations: Record<string, string> = { [HW.bmhNode]: node.name };
    if (node.powerFails) bmhAnnotations[KNOB.powerFails] = 'true';
    if (node.bmcUnreachable) bmhAnnotations[KNOB.bmcUnreachable] = 'true';
    if (node.powerDelay) bmhAnnotations[KNOB.powerDelay] = node.powerDelay;
    const bmh = await createIgnoringExisting(client, bmhPath(MACHINE_NAMESPACE), {
      apiVersion: 'metal3.io/v1alpha1',
      kind: 'BareMetalHost',
      metadata: { name: bmhName, namespace: MACHINE_NAMESPACE, annotations: bmhAnnotations },
      spec: {
        online: true,
        bmc: {
          address: `redfish-virtualmedia+https://127.0.0.1/redfish/v1/Systems/${node.name}`,
          credentialsName: secretName,
        },
        consumerRef: {
          apiVersion: 'machine.openshift.io/v1beta1',
          kind: 'Machine',
          name: machineName,
          namespace: MACHINE_NAMESPACE,
        },
      },
    });
    if (bmh) {
      // A provisioned host as the baremetal-operator reports it: every field its CRD requires (errorMessage,
      // errorCount, provisioningFailCount, provisioning.ID = the Ironic node's UUID), errorType omitted (omitempty).
      // metal3-io/baremetal-operator apis/metal3.io/v1alpha1/baremetalhost_types.go, BareMetalHostStatus.
      await client.patch(bmhPath(MACHINE_NAMESPACE, bmhName, 'status'), {
        status: {
          operationalStatus: 'OK',
          errorMessage: '',
          errorCount: 0,
          provisioningFailCount: 0,
          poweredOn: true,
          provisioning: { ID: randomUUID(), state: 'provisioned' },
          lastUpdated: nowIso(),
        },
      });
    }
    await client
      .patch(
        paths.resource(
          GVR.machine.group,
          GVR.machine.version,
          GVR.machine.plural,
          MACHINE_NAMESPACE,
          machineName,
          'status',
        ),
        {
          status: { nodeRef: { kind: 'Node', name: node.name } },
        },
      )
      .catch(() => undefined);
  }
  return [credential];
}
