// REST paths, so call sites read as what they touch.
import { KUBEVIRT } from '../domain/contract.js';

export const paths = {
  nodes: () => '/api/v1/nodes',
  node: (name: string) => `/api/v1/nodes/${name}`,
  nodeStatus: (name: string) => `/api/v1/nodes/${name}/status`,
  pods: (ns?: string) => (ns ? `/api/v1/namespaces/${ns}/pods` : '/api/v1/pods'),
  pod: (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}`,
  podStatus: (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}/status`,
  podEviction: (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}/eviction`,
  podBinding: (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}/binding`,
  namespaces: () => '/api/v1/namespaces',
  namespace: (name: string) => `/api/v1/namespaces/${name}`,
  secrets: (ns: string) => `/api/v1/namespaces/${ns}/secrets`,
  secret: (ns: string, name: string) => `/api/v1/namespaces/${ns}/secrets/${name}`,
  events: (ns: string) => `/api/v1/namespaces/${ns}/events`,
  pvcs: (ns: string) => `/api/v1/namespaces/${ns}/persistentvolumeclaims`,
  pvc: (ns: string, name: string) => `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`,
  leases: (ns: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
  lease: (ns: string, name: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`,
  /** Any resource of an API group: custom resources, apps/v1, policy/v1, … */
  resource: (group: string, version: string, plural: string, ns?: string, name?: string, sub?: string) => {
    const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const nsPart = ns ? `/namespaces/${ns}` : '';
    return `${prefix}${nsPart}/${plural}${name ? `/${name}` : ''}${sub ? `/${sub}` : ''}`;
  },
};

/** A KubeVirt resource: `kv('virtualmachineinstances', ns, name)`. */
export const kv = (plural: string, ns?: string, name?: string, sub?: string) =>
  paths.resource(KUBEVIRT.group, KUBEVIRT.version, plural, ns, name, sub);
