// KubeVirt's admission rules, served to the real API server as validating webhooks:
// - the virt-launcher eviction interceptor (pods/eviction): 429 + evacuation for migratable VMs, 429 forever
//   for LiveMigrate VMs that cannot move, allowed (the VM shuts down) for None;
// - the migration create validator: no VMIM for a VMI that is not running, not migratable, or already migrating.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { isNotFound, type KubeObject } from '../k8s/client.js';
import { effectiveEvictionStrategy, migrationsOfVmi, vmiPath, type SimContext } from './context.js';
import { LABEL, isMigrationFinal } from './model.js';

interface AdmissionRequest {
  uid: string;
  name?: string;
  namespace?: string;
  operation: string;
  dryRun?: boolean;
  object?: KubeObject;
}

interface Verdict {
  allowed: boolean;
  code?: number;
  message?: string;
}

const allow: Verdict = { allowed: true };
const tooManyRequests = (message: string): Verdict => ({ allowed: false, code: 429, message });
const reject = (message: string): Verdict => ({ allowed: false, code: 422, message });

async function evictionVerdict(ctx: SimContext, req: AdmissionRequest): Promise<Verdict> {
  const pod = ctx.informers.pods.get(`${req.namespace}/${req.name}`);
  if (!pod || pod.metadata.labels?.[LABEL.launcher] !== 'virt-launcher') return allow;
  const owner = pod.metadata.ownerReferences?.find((r) => r.kind === 'VirtualMachineInstance');
  const vmi = owner ? ctx.informers.vmis.get(`${req.namespace}/${owner.name}`) : undefined;
  if (!vmi || vmi.status?.phase !== 'Running' || vmi.metadata.deletionTimestamp) return allow;
  // A migration target pod, or a source pod left behind, is not what runs the VM.
  if (pod.spec?.nodeName !== vmi.status?.nodeName) return allow;

  const strategy = effectiveEvictionStrategy(ctx, vmi);
  const migratable = (vmi.status?.conditions ?? []).some(
    (c: { type: string; status: string }) => c.type === 'LiveMigratable' && c.status === 'True',
  );
  const evacuate = async () => {
    if (req.dryRun || vmi.status?.evacuationNodeName === vmi.status.nodeName) return;
    try {
      await ctx.client.patch(vmiPath(req.namespace ?? 'default', vmi.metadata.name), {
        status: { evacuationNodeName: vmi.status.nodeName },
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  };
  const name = `${vmi.metadata.namespace}/${vmi.metadata.name}`;
  switch (strategy) {
    case 'LiveMigrate':
      if (!migratable)
        return tooManyRequests(`VMI ${name} is configured with an eviction strategy but is not live-migratable`);
      await evacuate();
      return tooManyRequests(`Eviction triggered evacuation of VMI "${name}"`);
    case 'LiveMigrateIfPossible':
      if (!migratable) return allow;
      await evacuate();
      return tooManyRequests(`Eviction triggered evacuation of VMI "${name}"`);
    case 'External':
      await evacuate();
      return tooManyRequests(`Eviction of VMI "${name}" is handled by an external controller`);
    default:
      return allow;
  }
}

function migrationVerdict(ctx: SimContext, req: AdmissionRequest): Verdict {
  const m = req.object;
  const vmiName: string | undefined = m?.spec?.vmiName;
  if (!m || !vmiName) return reject('spec.vmiName is required');
  const vmi = ctx.informers.vmis.get(`${req.namespace}/${vmiName}`);
  if (!vmi) return reject(`the VMI "${req.namespace}/${vmiName}" does not exist`);
  const phase = vmi.status?.phase;
  if (phase !== 'Running' || vmi.metadata.deletionTimestamp) {
    return reject(`Cannot migrate VMI, VMI is not running (phase ${phase ?? 'unknown'})`);
  }
  const condition = (vmi.status?.conditions ?? []).find((c: { type: string }) => c.type === 'LiveMigratable');
  if (condition?.status === 'False') {
    return reject(`Cannot migrate VMI, Reason: ${condition.reason}, Message: ${condition.message}`);
  }
  const inFlight = migrationsOfVmi(ctx, req.namespace, vmiName).find((o) => !isMigrationFinal(o));
  if (inFlight)
    return reject(
      `in-flight migration detected. Active migration job (${inFlight.metadata.name}) is currently already in progress for VMI ${vmiName}.`,
    );
  return allow;
}

export interface WebhookServer {
  url: string;
  close(): Promise<void>;
}

export async function startWebhookServer(ctx: SimContext, tls: { cert: string; key: string }): Promise<WebhookServer> {
  const server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        let review: { request: AdmissionRequest };
        try {
          review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          res.writeHead(400).end('not an AdmissionReview');
          return;
        }
        const request = review.request;
        // The API server appends ?timeout=…; route on the path alone.
        const path = new URL(req.url ?? '/', 'https://webhook').pathname;
        let verdict: Verdict;
        try {
          verdict =
            path === '/pod-eviction'
              ? await evictionVerdict(ctx, request)
              : path === '/migration-create'
                ? migrationVerdict(ctx, request)
                : allow;
        } catch (e) {
          verdict = { allowed: false, code: 500, message: `sandbox webhook error: ${(e as Error).message}` };
        }
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            response: {
              uid: request.uid,
              allowed: verdict.allowed,
              status: verdict.allowed
                ? undefined
                : {
                    code: verdict.code,
                    message: verdict.message,
                    reason: verdict.code === 429 ? 'TooManyRequests' : 'Invalid',
                  },
            },
          }),
        );
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Registers the webhooks with the API server (replacing an older registration, e.g. after a restart). */
export async function registerWebhooks(ctx: SimContext, url: string, caCert: string): Promise<void> {
  const caBundle = Buffer.from(caCert).toString('base64');
  const hook = (name: string, path: string, rule: Record<string, unknown>, sideEffects: string) => ({
    name,
    clientConfig: { url: `${url}${path}`, caBundle },
    rules: [{ operations: ['CREATE'], scope: '*', ...rule }],
    admissionReviewVersions: ['v1'],
    sideEffects,
    failurePolicy: 'Fail',
    timeoutSeconds: 10,
  });
  const config = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'virt-api-validator' },
    webhooks: [
      hook(
        'virt-launcher-eviction-interceptor.kubevirt.io',
        '/pod-eviction',
        { apiGroups: [''], apiVersions: ['v1'], resources: ['pods/eviction'] },
        'NoneOnDryRun',
      ),
      hook(
        'migration-create-validator.kubevirt.io',
        '/migration-create',
        { apiGroups: ['kubevirt.io'], apiVersions: ['v1'], resources: ['virtualmachineinstancemigrations'] },
        'None',
      ),
    ],
  };
  const path = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';
  const existing = await ctx.client.find(`${path}/virt-api-validator`);
  if (existing)
    await ctx.client.replace(`${path}/virt-api-validator`, {
      ...config,
      metadata: { ...config.metadata, resourceVersion: existing.metadata.resourceVersion },
    });
  else await ctx.client.create(path, config);
}
