// The activity proxies of rollingMaintenance: reading the fleet is quick, looking at the next nodes is not.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';

const FLEET_RETRY = { initialInterval: '1s', maximumInterval: '30s', backoffCoefficient: 2, maximumAttempts: 10 };

export const { listFleetNodes } = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: FLEET_RETRY });

/** A look at up to maxUnavailable (100) nodes reads each one's VMs: it may take minutes. */
export const { checkFleetNodes } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: FLEET_RETRY,
});
