// Switching a machine off and on, and reading it, whichever provider was resolved for it.
import type { KubeClient } from '../../k8s/client.js';
import { metal3PowerState, powerOffMetal3, powerOnMetal3 } from './metal3.js';
import { powerOffRedfish, powerOnRedfish, redfishPowerState } from './redfish.js';
import type { PowerReading, ResolvedPowerProvider } from './types.js';

/** Switches the machine off; `none` does nothing. `changed` = an action was requested. */
export async function powerOff(
  client: KubeClient,
  provider: ResolvedPowerProvider,
  options: { graceful: boolean },
): Promise<{ changed: boolean }> {
  switch (provider.kind) {
    case 'metal3':
      return await powerOffMetal3(client, provider.bmh);
    case 'redfish':
      return await powerOffRedfish(client, provider, options);
    case 'none':
      return { changed: false };
  }
}

/** Switches the machine on; `none` does nothing. */
export async function powerOn(client: KubeClient, provider: ResolvedPowerProvider): Promise<{ changed: boolean }> {
  switch (provider.kind) {
    case 'metal3':
      return await powerOnMetal3(client, provider.bmh);
    case 'redfish':
      return await powerOnRedfish(client, provider);
    case 'none':
      return { changed: false };
  }
}

/** One reading; undefined for `none`. */
export async function powerState(
  client: KubeClient,
  provider: ResolvedPowerProvider,
): Promise<PowerReading | undefined> {
  switch (provider.kind) {
    case 'metal3':
      return await metal3PowerState(client, provider.bmh);
    case 'redfish':
      return await redfishPowerState(client, provider);
    case 'none':
      return undefined;
  }
}
