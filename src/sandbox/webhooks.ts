// KubeVirt's admission rules, served to the real API server as validating webhooks, with KubeVirt's status codes
// and texts (the API server prefixes each with `admission webhook "<name>" denied the request: `):
// - the virt-launcher eviction interceptor (pods/eviction), after kubevirt/kubevirt
//   pkg/virt-api/webhooks/validating-webhook/admitters/pod-eviction-admitter.go (`admitLauncherPod`, `denied`):
//   429 without a reason + evacuation for migratable VMs, 429 forever for LiveMigrate VMs that cannot move,
//   allowed (the VM shuts down) for None;
// - the migration create validator, after migration-create-admitter.go (`Admit`): a missing vmiName is a 422
//   Invalid with a cause (`ToAdmissionResponse`), every other refusal a 400 without a reason
//   (`ToAdmissionResponseError` in pkg/util/webhooks/webhooks.go).
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { isNotFound, paths, type KubeObject } from '../k8s/client.js';
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
  /** Only `ToAdmissionResponse` sets one (Invalid); KubeVirt's other refusals leave it empty. */
  reason?: string;
  message?: string;
  causes?: { type: string; message: string; field: string }[];
}

const allow: Verdict = { allowed: true };
/** pod-eviction-admitter.go `denied`: 429, no reason. */
const denied = (message: string): Verdict => ({ allowed: false, code: 429, message });
/** webhooks.go `ToAdmissionResponseError`: 400, no reason. */
const admissionError = (message: string): Verdict => ({ allowed: false, code: 400, message });

const isVmiMigratable = (vmi: KubeObject) =>
  (vmi.status?.conditions ?? []).some(
    (c: { type: string; status: string }) => c.type === 'LiveMigratable' && c.status === 'True',
  );

async function evictionVerdict(ctx: SimContext, req: AdmissionRequest): Promise<Verdict> {
  // KubeVirt reads the pod and the VMI from the API server, not a cache: a second eviction sees the first's mark.
  // Any error reading the pod lets the eviction through (`Admit`).
  const ns = req.namespace ?? 'default';
  const pod = await ctx.client.find(paths.pod(ns, req.name ?? '')).catch(() => undefined);
  // Only a launcher pod that has not completed is KubeVirt's business (`Admit`: isVirtLauncher && !isCompleted).
  if (!pod || pod.metadata.labels?.[LABEL.launcher] !== 'virt-launcher') return allow;
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return allow;
  const vmiName = pod.metadata.annotations?.['kubevirt.io/domain'];
  if (!vmiName) return allow;
  let vmi: KubeObject;
  try {
    vmi = await ctx.client.get(vmiPath(ns, vmiName));
  } catch (e) {
    // The Go client's error text is the API server's message, without our client's `<code> <reason>: ` prefix.
    return denied(`kubevirt failed getting the vmi: ${(e as Error).message.replace(/^\d+ \w+: /, '')}`);
  }

  const strategy = effectiveEvictionStrategy(ctx, vmi);
  const migratable = isVmiMigratable(vmi);
  let markForEviction = false;
  switch (strategy) {
    case 'LiveMigrate':
      if (!migratable)
        return denied(`VMI ${vmi.metadata.name} is configured with an eviction strategy but is not live-migratable`);
      markForEviction = true;
      break;
    case 'LiveMigrateIfPossible':
      markForEviction = migratable;
      break;
    case 'External':
      markForEviction = true;
      break;
  }
  if (!markForEviction) return allow;

  const evacuation = `Eviction triggered evacuation of VMI "${vmi.metadata.namespace}/${vmi.metadata.name}"`;
  if (vmi.status?.evacuationNodeName) return denied(`Evacuation in progress: ${evacuation}`);
  // A migration target pod, or a source pod left behind, is not what runs the VM: refused, not allowed.
  if (pod.spec?.nodeName !== vmi.status?.nodeName) return denied('Eviction request for target Pod');
  if (!req.dryRun) {
    try {
      await ctx.client.patch(vmiPath(req.namespace ?? 'default', vmi.metadata.name), {
        status: { evacuationNodeName: pod.spec?.nodeName },
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      return denied(`kubevirt failed marking the vmi for eviction: ${(e as Error).message}`);
    }
  }
  return denied(evacuation);
}

function migrationVerdict(ctx: SimContext, req: AdmissionRequest): Verdict {
  const m = req.object;
  const vmiName: string | undefined = m?.spec?.vmiName;
  if (!m || !vmiName) {
    const cause = { type: 'FieldValueRequired', message: 'vmiName is missing', field: 'spec.vmiName' };
    return { allowed: false, code: 422, reason: 'Invalid', message: cause.message, causes: [cause] };
  }
  const vmi = ctx.informers.vmis.get(`${req.namespace}/${vmiName}`);
  if (!vmi) return admissionError(`the VMI "${req.namespace}/${vmiName}" does not exist`);
  // `vmi.IsFinal()`: only Succeeded or Failed is refused; a VMI not yet running is admitted (the migration
  // controller waits for it).
  const phase = vmi.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return admissionError('Cannot migrate VMI in finalized state.');
  const condition = (vmi.status?.conditions ?? []).find((c: { type: string }) => c.type === 'LiveMigratable');
  if (condition?.status === 'False') {
    return admissionError(`Cannot migrate VMI, Reason: ${condition.reason}, Message: ${condition.message}`);
  }
  // `ensureNoMigrationConflict`: any migration of the VMI that is neither Succeeded nor Failed, named by its uid.
  const inFlight = migrationsOfVmi(ctx, req.namespace, vmiName).find((o) => !isMigrationFinal(o));
  if (inFlight)
    return admissionError(
      `in-flight migration detected. Active migration job (${inFlight.metadata.uid}) is currently already in progress for VMI ${vmiName}.`,
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
                    reason: verdict.reason,
                    details: verdict.causes ? { causes: verdict.causes } : undefined,
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
