// The sandbox's real control plane: etcd, kube-apiserver (TLS, token auth, RBAC), kube-controller-manager
// (Deployments, ReplicaSets, DaemonSets, PDB status, garbage collection) and kube-scheduler, all upstream
// binaries of one pinned release, on free loopback ports. Only kubelet, KubeVirt and Metal3 are simulated.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { stringify } from 'yaml';
import { KubeClient } from '../k8s/client.js';
import type { KubeBinary } from '../tools/binaries.js';
import { freePort, startProcess, waitUntil, type ManagedProcess } from './processes.js';

export interface ClusterOptions {
  /** Where data, certificates, logs and the kubeconfig go. Reused across restarts (etcd data survives). */
  dir: string;
  binaries: Record<KubeBinary, string>;
  log?: (line: string) => void;
}

export interface SandboxCluster {
  dir: string;
  server: string;
  kubeconfigPath: string;
  /** CA that signed the API server's and the webhooks' serving certificates. */
  ca: { cert: string; key: string };
  /** CA-signed serving certificate for 127.0.0.1, reused by the webhooks and the Redfish BMC. */
  serving: { cert: string; key: string };
  adminToken: string;
  client: KubeClient;
  processes: ManagedProcess[];
  /** Restarts kube-apiserver on the same port and data (for fault tests). */
  restartApiServer(): Promise<void>;
  stop(): Promise<void>;
}

interface Secrets {
  ca: { cert: string; key: string };
  serving: { cert: string; key: string };
  serviceAccountKey: string;
  serviceAccountPub: string;
  adminToken: string;
}

async function makeSecrets(): Promise<Secrets> {
  const notAfterDate = new Date(Date.now() + 5 * 365 * 24 * 3600 * 1000);
  const ca = await generate([{ name: 'commonName', value: 'pitstop-sandbox-ca' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const serving = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    ca: { cert: ca.cert, key: ca.private },
    serving: { cert: serving.cert, key: serving.private },
    serviceAccountKey: sa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    serviceAccountPub: sa.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    adminToken: randomBytes(24).toString('hex'),
  };
}

/** Certificates and keys are made once per directory, so a restarted sandbox keeps its identities. */
async function loadOrMakeSecrets(pki: string): Promise<Secrets> {
  const file = join(pki, 'secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Secrets;
  const secrets = await makeSecrets();
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  return secrets;
}

export function kubeconfigYaml(server: string, caCert: string, user: string, token: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'sandbox', cluster: { server, 'certificate-authority-data': Buffer.from(caCert).toString('base64') } },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: user, context: { cluster: 'sandbox', user } }],
    'current-context': user,
  });
}

export async function startCluster(options: ClusterOptions): Promise<SandboxCluster> {
  const { dir, binaries } = options;
  const log = options.log ?? (() => {});
  const pki = join(dir, 'pki');
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const secrets = await loadOrMakeSecrets(pki);
  const files = {
    caCert: join(pki, 'ca.crt'),
    servingCert: join(pki, 'serving.crt'),
    servingKey: join(pki, 'serving.key'),
    saKey: join(pki, 'sa.key'),
    saPub: join(pki, 'sa.pub'),
    tokens: join(pki, 'tokens.csv'),
  };
  writeFileSync(files.caCert, secrets.ca.cert);
  writeFileSync(files.servingCert, secrets.serving.cert);
  writeFileSync(files.servingKey, secrets.serving.key, { mode: 0o600 });
  writeFileSync(files.saKey, secrets.serviceAccountKey, { mode: 0o600 });
  writeFileSync(files.saPub, secrets.serviceAccountPub);
  // Static token file: the admin identity (system:masters) used by the sandbox, tests and the embedded default.
  writeFileSync(files.tokens, `${secrets.adminToken},pitstop-admin,pitstop-admin,"system:masters"\n`, { mode: 0o600 });

  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const processes: ManagedProcess[] = [];

  const etcd = startProcess(
    'etcd',
    binaries.etcd,
    [
      '--name=sandbox',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=sandbox=http://127.0.0.1:${etcdPeer}`,
      // A test cluster: durability across power loss is not worth an fsync per write.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    join(logs, 'etcd.log'),
  );
  processes.push(etcd);
  await waitUntil('etcd', async () => (await fetch(`http://127.0.0.1:${etcdClient}/health`)).ok, {
    timeoutMs: 30_000,
    process: etcd,
  });
  log(`etcd up on 127.0.0.1:${etcdClient}`);

  const server = `https://127.0.0.1:${apiPort}`;
  const apiArgs = [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    `--cert-dir=${join(pki, 'apiserver')}`,
    `--tls-cert-file=${files.servingCert}`,
    `--tls-private-key-file=${files.servingKey}`,
    `--client-ca-file=${files.caCert}`,
    `--token-auth-file=${files.tokens}`,
    '--authorization-mode=RBAC',
    '--service-cluster-ip-range=10.96.0.0/16',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${files.saPub}`,
    `--service-account-signing-key-file=${files.saKey}`,
    '--allow-privileged=true',
    // Pods here never run, and the ServiceAccount plugin would race namespace creation against its controller.
    '--disable-admission-plugins=ServiceAccount',
    '--enable-priority-and-fairness=false',
    '--endpoint-reconciler-type=none',
    '--v=0',
  ];
  let apiserver = startProcess('kube-apiserver', binaries['kube-apiserver'], apiArgs, join(logs, 'kube-apiserver.log'));
  processes.push(apiserver);

  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigYaml(server, secrets.ca.cert, 'pitstop-admin', secrets.adminToken), {
    mode: 0o600,
  });
  const client = KubeClient.fromFile(kubeconfigPath);
  const waitForApi = async () =>
    await waitUntil(
      'kube-apiserver',
      async () => {
        await client.request('GET', '/readyz');
        return true;
      },
      { timeoutMs: 90_000, process: apiserver, intervalMs: 200 },
    );
  await waitForApi();
  log(`kube-apiserver up at ${server}`);

  const kcm = startProcess(
    'kube-controller-manager',
    binaries['kube-controller-manager'],
    [
      `--kubeconfig=${kubeconfigPath}`,
      '--leader-elect=false',
      '--secure-port=0',
      // Node lifecycle is off: our simulated kubelet owns node health, and taint-based eviction would fight it.
      '--controllers=deployment,replicaset,daemonset,disruption,garbagecollector,namespace,serviceaccount,serviceaccount-token,root-ca-cert-publisher',
      `--service-account-private-key-file=${files.saKey}`,
      `--root-ca-file=${files.caCert}`,
      '--concurrent-gc-syncs=5',
      '--v=0',
    ],
    join(logs, 'kube-controller-manager.log'),
  );
  processes.push(kcm);
  const scheduler = startProcess(
    'kube-scheduler',
    binaries['kube-scheduler'],
    [`--kubeconfig=${kubeconfigPath}`, '--leader-elect=false', '--secure-port=0', '--v=0'],
    join(logs, 'kube-scheduler.log'),
  );
  processes.push(scheduler);
  // Both are only useful once running; give them a moment to fail loudly on bad flags.
  await new Promise((r) => setTimeout(r, 300));
  for (const p of [kcm, scheduler]) {
    if (p.child.exitCode !== null) throw new Error(`${p.name} exited at start; see ${p.logFile}`);
  }

  return {
    dir,
    server,
    kubeconfigPath,
    ca: secrets.ca,
    serving: secrets.serving,
    adminToken: secrets.adminToken,
    client,
    processes,
    async restartApiServer() {
      await apiserver.stop();
      apiserver = startProcess('kube-apiserver', binaries['kube-apiserver'], apiArgs, join(logs, 'kube-apiserver.log'));
      processes[1] = apiserver;
      await waitForApi();
    },
    async stop() {
      client.close();
      // Reverse order: controllers first, etcd last.
      for (const p of [...processes].reverse()) await p.stop();
    },
  };
}
