// The cluster contract: every name Pitstop reads or writes on objects it does not own (labels, annotations,
// taints, the node lease, Event reasons) and the API groups it talks to. The activities write these names and the
// chaos judge reads them back, so both import them from here and nothing else spells them: a rename is one edit,
// and an operator's runbook (`kubectl get node -l ...`) can be checked against one list.

/** The prefix of every label, annotation and taint Pitstop owns: what is left behind is found by it. */
export const PITSTOP_PREFIX = 'pitstop.io/';

/** The value of `app.kubernetes.io/managed-by` on what Pitstop creates, and its Events' reporting component. */
export const PITSTOP = 'pitstop';

/** API groups and versions of the custom resources Pitstop reads and changes. */
export const KUBEVIRT = { group: 'kubevirt.io', version: 'v1' } as const;
/** virt-api's aggregated API: the `stop`/`start` subresources of VirtualMachines (what virtctl calls). */
export const KUBEVIRT_SUBRESOURCES = { group: 'subresources.kubevirt.io', version: 'v1' } as const;
export const METAL3 = { group: 'metal3.io', version: 'v1alpha1', plural: 'baremetalhosts' } as const;
export const MACHINE = { group: 'machine.openshift.io', version: 'v1beta1', plural: 'machines' } as const;

// ----- labels and annotations Pitstop writes --------------------------------------------------------------------

/** Label on what Pitstop creates (migrations, leases): `app.kubernetes.io/managed-by=pitstop`. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** Label (sanitized) and annotation (verbatim) naming the workflow that created a migration. */
export const WORKFLOW_ID_LABEL = 'pitstop.io/workflow-id';
/** VM annotation holding the runStrategy a maintenance stopped it from (removed when it is restored). */
export const PREVIOUS_RUN_STRATEGY = 'pitstop.io/previous-run-strategy';
/** Label an owner puts on a VM (or VMI) to choose its maintenance strategy (LiveMigrate, Stop, ...). */
export const STRATEGY_LABEL = 'pitstop.io/maintenance-strategy';

/** Marks Pitstop puts on a Node while it maintains it. */
export const NODE_MARKS = {
  /** Annotation: the workflow id that cordoned the node; only that workflow uncordons it. */
  cordonedBy: 'pitstop.io/cordoned-by',
  /** Annotation: "true" | "false", spec.unschedulable before Pitstop first cordoned the node. */
  wasUnschedulable: 'pitstop.io/was-unschedulable',
  /** Annotation: "true" | "false", whether the remediation exclusion label was already there. */
  wasExcluded: 'pitstop.io/was-excluded-from-remediation',
  /** Annotation: the maintenance phase, for `kubectl get node -o yaml` readers. */
  phase: 'pitstop.io/maintenance-phase',
  /** NoSchedule taint key. */
  taint: 'pitstop.io/maintenance',
  /** Label medik8s remediators (SNR, FAR, MDR) honour: a node under maintenance is not "unhealthy". */
  excludeFromRemediation: 'remediation.medik8s.io/exclude-from-remediation',
} as const;

/** The node lease of the medik8s convention, so NMO, SNR and FAR see the node is busy too. */
export const NODE_LEASE = {
  namespace: 'medik8s-leases',
  name: (node: string) => `node-${node}`,
  /** The node a lease of this namespace is for, or undefined for another lease (e.g. the admission's). */
  nodeOf: (leaseName: string) => (leaseName.startsWith('node-') ? leaseName.slice('node-'.length) : undefined),
} as const;

/** The Lease that serializes admissions (src/domain/admission.ts): held only for the moment one admission decides. */
export const ADMISSION_LEASE = { namespace: NODE_LEASE.namespace, name: 'pitstop-admission' } as const;

/** Events on the Node: `Maintenance<Phase>` for each phase mark, `MaintenanceEnded` when the marks go. */
export const NODE_EVENTS = {
  /** Events on cluster-scoped Nodes live in `default` (the kubelet's and node controller's convention). */
  namespace: 'default',
  phaseReason: (phase: string) => `Maintenance${phase}`,
  ended: 'MaintenanceEnded',
} as const;

// ----- names other components own, which Pitstop reads ----------------------------------------------------------

/** Either label marks a control-plane node. */
export const CONTROL_PLANE_LABELS = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master'];

/** KubeVirt's labels: the VMI's node, a migration's VMI, the launcher pods and the VMI (uid) each belongs to. */
export const KUBEVIRT_LABELS = {
  vmiNode: 'kubevirt.io/nodeName',
  vmiName: 'kubevirt.io/vmi-name',
  /** `kubevirt.io=virt-launcher` marks a launcher pod. */
  launcherKey: 'kubevirt.io',
  launcherValue: 'virt-launcher',
  createdBy: 'kubevirt.io/created-by',
} as const;
export const LAUNCHER_SELECTOR = `${KUBEVIRT_LABELS.launcherKey}=${KUBEVIRT_LABELS.launcherValue}`;
/** KubeVirt sets it on every VMIM: Pitstop lists a node's migrations by it. */
export const VMI_NAME_LABEL = KUBEVIRT_LABELS.vmiName;

/**
 * The taint that tells Kubernetes a node is shut down for good (GA in 1.28, KEP-2268 "non-graceful node shutdown"):
 * the pod GC controller force-deletes the node's terminating pods and the attach-detach controller detaches their
 * volumes at once (kubernetes/kubernetes pkg/controller/podgc/gc_controller.go `gcTerminating`). Only ever put on
 * a node that is fenced: pods then restart elsewhere while the old ones could still run if the node were alive.
 */
export const OUT_OF_SERVICE_TAINT = {
  key: 'node.kubernetes.io/out-of-service',
  value: 'nodeshutdown',
  effect: 'NoExecute',
} as const;

/** Node → Machine (set by OpenShift's machine-api). */
export const MACHINE_ANNOTATION = 'machine.openshift.io/machine';
/** Machine → BareMetalHost (set by the Metal3 machine actuator). */
export const BMH_ANNOTATION = 'metal3.io/BareMetalHost';

/**
 * virt-handler's node label: `kubevirt.io/schedulable=true` while its heartbeat is fresh. virt-controller puts it
 * into every virt-launcher pod's nodeSelector (kubevirt/kubevirt pkg/virt-controller/services/nodeselectorrenderer.go;
 * label set in pkg/virt-handler/heartbeat/heartbeat.go), so a node without it takes no VM.
 */
export const KUBEVIRT_SCHEDULABLE = { label: 'kubevirt.io/schedulable', value: 'true' } as const;

/**
 * KubeVirt's migration-create admitter (kubevirt/kubevirt
 * pkg/virt-api/webhooks/validating-webhook/admitters/migration-create-admitter.go, `Admit`): the webhook's name and
 * the texts of its refusals, which every KubeVirt release answers with HTTP 400 (`ToAdmissionResponseError`,
 * pkg/util/webhooks/webhooks.go); only a spec that fails its validation (a missing vmiName) is a 422 Invalid.
 */
export const KUBEVIRT_MIGRATION_ADMISSION = {
  webhook: 'migration-create-validator.kubevirt.io',
  /** `vmi.IsFinal()`; v0.20 to v0.39 spelled it "Cannot migrated VMI in finalized state.". */
  finalized: /Cannot migrated? VMI in finalized state/,
  /** `isMigratable`: `Cannot migrate VMI, Reason: <reason>, Message: <message>` from the LiveMigratable condition. */
  notMigratable: /Cannot migrate VMI, Reason: (\w+), Message: (.*)$/s,
  /** `ensureNoMigrationConflict`: a migration neither Succeeded nor Failed already exists for the VMI. */
  inFlight: /in-flight migration detected/,
  /** The VMI Get returned NotFound. */
  vmiMissing: /the VMI .* does not exist/,
} as const;
