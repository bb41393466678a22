// A scenario VM: the VirtualMachine (or a bare VMI) with the quirks the sandbox's KubeVirt controllers read.
import { paths, type KubeClient } from '../../k8s/client.js';
import { createIgnoringExisting } from './create.js';
import { vmPath, vmiPath } from '../context.js';
import { KNOB } from '../model.js';
import type { VmSpec } from '../scenario.js';

function vmiSpec(vm: VmSpec) {
  const disks = [{ name: 'rootdisk', disk: { bus: 'virtio' } }];
  const volumes: Record<string, unknown>[] = [
    vm.storage === 'none'
      ? { name: 'rootdisk', containerDisk: { image: 'quay.io/containerdisks/fedora:latest' } }
      : { name: 'rootdisk', persistentVolumeClaim: { claimName: `${vm.name}-root` } },
  ];
  const iface = vm.network === 'bridge' ? { name: 'default', bridge: {} } : { name: 'default', masquerade: {} };
  return {
    domain: {
      cpu: { cores: vm.cpu },
      resources: { requests: { memory: vm.memory } },
      devices: {
        disks,
        interfaces: [iface],
        ...(vm.hostDevice ? { hostDevices: [{ name: 'gpu1', deviceName: 'nvidia.com/GA102GL_A10' }] } : {}),
      },
    },
    networks: [{ name: 'default', pod: {} }],
    volumes,
    evictionStrategy: vm.evictionStrategy,
    nodeSelector: vm.nodeSelector,
    terminationGracePeriodSeconds: vm.terminationGracePeriodSeconds,
  };
}

function knobAnnotations(vm: VmSpec): Record<string, string> {
  const k = vm.knobs;
  const entries: [string, unknown][] = [
    [KNOB.migrationDuration, k.migrationDuration],
    [KNOB.migrationFailures, k.migrationFailures],
    [KNOB.migrationStuck, k.migrationStuck],
    [KNOB.migrationAbortFails, k.migrationAbortFails],
    [KNOB.stopHangs, k.stopHangs],
    [KNOB.stopDuration, k.stopDuration],
  ];
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined).map(([key, v]) => [key, String(v)]));
}

export async function createVm(client: KubeClient, vm: VmSpec) {
  if (vm.storage !== 'none') {
    await createIgnoringExisting(client, paths.pvcs(vm.namespace), {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: `${vm.name}-root`, namespace: vm.namespace },
      spec: {
        accessModes: [vm.storage === 'rwx' ? 'ReadWriteMany' : 'ReadWriteOnce'],
        resources: { requests: { storage: '20Gi' } },
      },
    });
  }
  const annotations = knobAnnotations(vm);
  const vmLabels = { ...vm.labels };
  if (vm.standalone) {
    await createIgnoringExisting(client, vmiPath(vm.namespace), {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: {
        name: vm.name,
        namespace: vm.namespace,
        labels: vmLabels,
        annotations: { ...annotations, ...(vm.node ? { [KNOB.initialNode]: vm.node } : {}) },
        finalizers: ['foregroundDeleteVirtualMachine'],
      },
      spec: vmiSpec(vm),
      status: { phase: 'Pending' },
    });
    return;
  }
  await createIgnoringExisting(client, vmPath(vm.namespace), {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: {
      name: vm.name,
      namespace: vm.namespace,
      labels: vmLabels,
      annotations: vm.node ? { [KNOB.initialNode]: vm.node } : {},
    },
    spec: {
      runStrategy: vm.runStrategy,
      template: { metadata: { labels: { ...vmLabels, 'kubevirt.io/vm': vm.name }, annotations }, spec: vmiSpec(vm) },
    },
  });
}
