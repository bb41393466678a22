// Worker Versioning settings (docs/versioning.md): which deployment and build a worker announces, and whether it
// makes its build the one new workflows go to.
import { readFileSync } from 'node:fs';
import type { Getter } from './read.js';

/** Who may make a worker's version the one new workflows go to. */
export const PROMOTIONS = ['ifUnset', 'always', 'never'] as const;
export type Promotion = (typeof PROMOTIONS)[number];

export interface VersioningConfig {
  /** Off: an unversioned worker (tests, and a Temporal server without Worker Deployments). */
  enabled: boolean;
  deploymentName: string;
  buildId: string;
  /**
   * `ifUnset` (default): the first build of a deployment takes new runs at once; a later build waits for the
   * operator's `temporal worker deployment set-current-version`, so old and new builds can run side by side.
   * `always`: the build makes itself current when it starts (one worker, as in `npm start`). `never`: operator only.
   */
  promote: Promotion;
}

export const DEFAULT_DEPLOYMENT_NAME = 'pitstop';

/** The package version: the build id of every release (a workflow change ships with a version bump). */
export function packageVersion(): string {
  // src/worker/ and dist/worker/ both sit two levels below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Reads the versioning settings; problems are added to `problems` (the configuration's all-problems report). */
export function readVersioning(
  get: Getter,
  problems: string[],
  defaults: { enabled: boolean; promote: Promotion } = { enabled: true, promote: 'ifUnset' },
): VersioningConfig {
  const mode = get('PITSTOP_WORKER_VERSIONING') ?? (defaults.enabled ? 'on' : 'off');
  if (mode !== 'on' && mode !== 'off') problems.push(`PITSTOP_WORKER_VERSIONING must be on or off, not "${mode}"`);
  const promote = get('PITSTOP_PROMOTE_VERSION') ?? defaults.promote;
  if (!(PROMOTIONS as readonly string[]).includes(promote)) {
    problems.push(`PITSTOP_PROMOTE_VERSION must be one of ${PROMOTIONS.join(', ')}, not "${promote}"`);
  }
  const buildId = get('PITSTOP_BUILD_ID') ?? packageVersion();
  // The server's limit for deployment names and build ids, and "." separates them in version strings.
  for (const [name, value] of [
    ['PITSTOP_DEPLOYMENT_NAME', get('PITSTOP_DEPLOYMENT_NAME') ?? DEFAULT_DEPLOYMENT_NAME],
    ['PITSTOP_BUILD_ID', buildId],
  ] as const) {
    if (!value || value.length > 255) problems.push(`${name} must be 1 to 255 characters`);
  }
  return {
    enabled: mode === 'on',
    deploymentName: get('PITSTOP_DEPLOYMENT_NAME') ?? DEFAULT_DEPLOYMENT_NAME,
    buildId,
    promote: promote as Promotion,
  };
}
