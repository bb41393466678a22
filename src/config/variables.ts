// Every variable Pitstop reads, with its default and meaning (the README's table is made from the same facts).
// Temporal settings use the standard Temporal variable names (as the Temporal CLI and SDKs do), so Temporal Cloud
// works with TEMPORAL_ADDRESS + TEMPORAL_NAMESPACE + TEMPORAL_API_KEY (or mTLS certificates).
export const CONFIG_VARIABLES = {
  TEMPORAL_ADDRESS: { default: undefined, meaning: 'Temporal frontend host:port (required)' },
  TEMPORAL_NAMESPACE: { default: 'default', meaning: 'Temporal namespace' },
  TEMPORAL_API_KEY: { default: undefined, meaning: 'API key (Temporal Cloud); turns TLS on' },
  TEMPORAL_API_KEY_FILE: { default: undefined, meaning: 'file holding the API key (instead of TEMPORAL_API_KEY)' },
  TEMPORAL_TLS: { default: 'false', meaning: 'true: TLS with the system CAs, without client certificates' },
  TEMPORAL_TLS_CLIENT_CERT_PATH: { default: undefined, meaning: 'mTLS client certificate (PEM file)' },
  TEMPORAL_TLS_CLIENT_KEY_PATH: { default: undefined, meaning: 'mTLS client key (PEM file)' },
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: { default: undefined, meaning: 'CA of the Temporal server (PEM file)' },
  TEMPORAL_TLS_SERVER_NAME: { default: undefined, meaning: 'TLS server name override' },
  PITSTOP_TASK_QUEUE: { default: 'pitstop', meaning: 'task queue of the worker (and of workflows the API starts)' },
  KUBECONFIG: { default: 'in-cluster, else ~/.kube/config', meaning: 'the cluster Pitstop maintains' },
  PITSTOP_API_ADDRESS: { default: '0.0.0.0:8080', meaning: 'HTTP API listen host:port, or `off`' },
  PITSTOP_API_TOKENS_FILE: { default: undefined, meaning: 'API bearer tokens, one `read|write <token>` a line' },
  PITSTOP_API_TOKENS: { default: undefined, meaning: 'the same lines in a variable' },
  PITSTOP_ALERTMANAGER_NODE_LABEL: { default: 'node', meaning: 'alert label naming the node (Alertmanager hook)' },
  PITSTOP_ALERTMANAGER_RULES_FILE: {
    default: undefined,
    meaning: "the Alertmanager hook's alert table: a JSON file of rules (docs/api.md#alertmanager)",
  },
  PITSTOP_ALERTMANAGER_RULES: {
    default: 'KubeNodeNotReady, KubeNodeUnreachable: repair; any other alert naming a node: planned',
    meaning: 'the same JSON in a variable',
  },
  PITSTOP_MAX_NODES_DOWN: {
    default: '1',
    meaning: 'admission budget: worker nodes down at once (a count, or a percentage like `25%`)',
  },
  PITSTOP_MAX_UNHEALTHY: {
    default: '49%',
    meaning: 'repairs do not fence when more worker nodes than this are NotReady (suspected partition)',
  },
  PITSTOP_METRICS_ADDRESS: { default: '0.0.0.0:9464', meaning: '/metrics, /healthz, /readyz listen host:port' },
  PITSTOP_LOG_LEVEL: { default: 'INFO', meaning: 'TRACE, DEBUG, INFO, WARN or ERROR (JSON lines on stdout)' },
  PITSTOP_SHUTDOWN_GRACE: { default: '30s', meaning: 'on SIGTERM: how long running activities may take to finish' },
  PITSTOP_WORKER_VERSIONING: { default: 'on', meaning: 'Worker Versioning (docs/versioning.md): on, or off' },
  PITSTOP_DEPLOYMENT_NAME: { default: 'pitstop', meaning: 'worker deployment name' },
  PITSTOP_BUILD_ID: { default: 'the package version', meaning: "the worker's build id" },
  PITSTOP_PROMOTE_VERSION: { default: 'ifUnset', meaning: 'make this build current: ifUnset, always, or never' },
  PITSTOP_WORKFLOW_BUNDLE: { default: 'dist/workflow-bundle.js if present', meaning: 'pre-built workflow bundle' },
} as const;

export type ConfigVariable = keyof typeof CONFIG_VARIABLES;
