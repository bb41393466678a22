// Metal3: a node's machine switched through its BareMetalHost's spec.online, read from its status.
import { paths, type KubeClient, type KubeObject } from '../../k8s/client.js';
import { METAL3 } from '../../domain/contract.js';
import { kube } from '../errors.js';
import { refText, short, type ObjectRef, type PowerReading } from './types.js';

export const bmhPath = (ns: string, name?: string) =>
  paths.resource(METAL3.group, METAL3.version, METAL3.plural, ns, name);

async function setOnline(client: KubeClient, bmh: ObjectRef, online: boolean): Promise<{ changed: boolean }> {
  return await kube(`powering ${online ? 'on' : 'off'} BareMetalHost ${refText(bmh)}`, async () => {
    const host = await client.get(bmhPath(bmh.namespace, bmh.name));
    if (host.spec?.online === online) return { changed: false };
    await client.patch(bmhPath(bmh.namespace, bmh.name), { spec: { online } });
    return { changed: true };
  });
}

/**
 * spec.online=false; Metal3 then powers the host off (soft first, hard if that fails). Idempotent: `changed` says
 * whether the host was online before.
 */
export function powerOffMetal3(client: KubeClient, bmh: ObjectRef): Promise<{ changed: boolean }> {
  return setOnline(client, bmh, false);
}

/** spec.online=true. Idempotent. */
export function powerOnMetal3(client: KubeClient, bmh: ObjectRef): Promise<{ changed: boolean }> {
  return setOnline(client, bmh, true);
}

export function bmhReading(host: KubeObject): PowerReading {
  const status = host.status ?? {};
  const poweredOn = status.poweredOn === true;
  const state = typeof status.poweredOn === 'boolean' ? (poweredOn ? 'On' : 'Off') : 'Unknown';
  const error =
    status.operationalStatus === 'error'
      ? short(String(status.errorMessage || status.errorType || 'operational status error'))
      : undefined;
  return { poweredOn, state, ...(error !== undefined && { error }) };
}

/** status.poweredOn, and the host's error when its operationalStatus is `error`. */
export async function metal3PowerState(client: KubeClient, bmh: ObjectRef): Promise<PowerReading> {
  const host = await kube(`reading BareMetalHost ${refText(bmh)}`, () => client.get(bmhPath(bmh.namespace, bmh.name)));
  return bmhReading(host);
}
