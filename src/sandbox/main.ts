// `npm run sandbox -- [scenario.yaml]`: the sandbox cluster alone, until Ctrl-C.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureKubeBinaries } from '../tools/binaries.js';
import { startSandbox } from './index.js';
import { loadScenarioFile } from './scenario.js';

const scenarioPath = resolve(process.argv[2] ?? new URL('./scenarios/demo.yaml', import.meta.url).pathname);
const dir = process.env.PITSTOP_SANDBOX_DIR ?? mkdtempSync(join(tmpdir(), 'pitstop-sandbox-'));
const sandbox = await startSandbox({
  dir,
  binaries: await ensureKubeBinaries(),
  scenario: loadScenarioFile(scenarioPath),
  log: (line) => console.log(`[sandbox] ${line}`),
});
console.log(`sandbox running with ${scenarioPath}
  export KUBECONFIG=${sandbox.kubeconfigPath}
  Redfish BMC ${sandbox.redfishUrl} (credentials in Secrets of namespaces pitstop-bmc, openshift-machine-api)
Ctrl-C stops it.`);
const stop = async () => {
  await sandbox.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
