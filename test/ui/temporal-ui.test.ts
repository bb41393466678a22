// The first way administrators use Pitstop: the Temporal Web UI, driven in a real browser (Debian's Chromium through
// playwright-core). A dev server of this file's own with its UI (v2.42.1 in CLI v1.5.1; the start form and the update
// form are on by default), the sandbox cluster and a worker. Everything is done the way a person would: start
// `nodeMaintenance` from the Start Workflow form with one JSON object, watch the current details and the `progress`
// query, find it in the saved query of runs waiting for a decision, answer the escalation and release the hold with
// the Send an Update form, see it complete. Then the cluster is checked against the invariants of
// docs/architecture.md. Last, a run a NodeMaintenance CR started (the controller runs in this file too) is found in
// the list and shows its static summary and details. Screenshots of each step go to test-results/ui/.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, ensureChromium } from '../../src/tools/chromium.js';
import { ensureTemporal } from '../../src/tools/binaries.js';
import { startTemporalDevServer, type DevServer } from '../../src/devserver/temporal.js';
import type { MaintenanceResult } from '../../src/domain/progress.js';
import type { TestEnv } from '../support/env.js';
import { createNm, startControllerEnv, untilNm, untilNmGone, type ControllerEnv } from '../support/nodeMaintenance.js';
import { nmPath } from '../../src/controller/nodeMaintenance/kube.js';
import { kv } from '../../src/k8s/client.js';
import { DECISIONS_PENDING_QUERY } from '../../src/client/visibility.js';
import { untilVmisRunning, vmOf } from '../support/cluster.js';
import { invariantViolations, recordBefore } from '../support/invariants.js';

const SHOTS = fileURLToPath(new URL('../../test-results/ui/', import.meta.url));
const NODE = 'worker-1';
const WORKFLOW_ID = `maintenance-${NODE}`;
/** Waits on page state are generous: two cores are shared by a whole test run and a browser. */
const PAGE_TIMEOUT = 60_000;

let temporal: DevServer | undefined;
let world: ControllerEnv | undefined;
let env: TestEnv | undefined;
let browser: Browser | undefined;
let page: Page;

beforeAll(async () => {
  // A fresh machine has no browser: the project's own script installs Debian's Chromium (a minute or two, once).
  const executablePath = await ensureChromium();
  const dir = mkdtempSync(join(inject('runDir'), 'ui-'));
  temporal = await startTemporalDevServer({
    binary: await ensureTemporal(),
    logDir: dir,
    // Under the run's directory, so the run's leak check also sees this server.
    dbFile: join(dir, 'temporal.db'),
    ui: true,
  });
  world = await startControllerEnv({
    temporalAddress: temporal.address,
    scenario: {
      name: 'web-ui',
      timing: { migrationDuration: '1s', bootDelay: '1s', powerDelay: '500ms', vmStop: '300ms' },
      kubevirt: { evictionStrategy: 'LiveMigrate' },
      nodes: [{ name: 'worker-{n}', count: 4, memory: '256Gi', bmc: 'metal3' }],
      vms: [
        // Shared disk: live-migrates.
        { name: 'web', node: NODE, storage: 'rwx' },
        // ReadWriteOnce disk under LiveMigrate: cannot move, so the workflow asks the operator.
        { name: 'db', node: NODE, storage: 'rwo', terminationGracePeriodSeconds: 1 },
      ],
    },
  });
  env = world.env;
  await untilVmisRunning(env.kube, 2);
  rmSync(SHOTS, { recursive: true, force: true }); // no screenshot of an earlier run left to mislead
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS] });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(PAGE_TIMEOUT);
}, 1_200_000);

afterAll(async () => {
  await browser?.close();
  // A run the test left half-way must not keep the node: cancel rolls it back before the cluster stops.
  if (env) {
    const handle = env.client.workflow.getHandle(WORKFLOW_ID);
    const running = await handle.describe().then(
      (d) => d.status.name === 'RUNNING',
      () => false,
    );
    if (running) {
      await handle.cancel();
      await handle.result().catch(() => undefined);
    }
  }
  await world?.stop();
  await temporal?.stop();
});

const ui = (path: string) => `${temporal!.uiUrl}/namespaces/default${path}`;
async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/**
 * Fills one of the UI's JSON editors (CodeMirror) and leaves it, so the UI re-formats the JSON before anything is
 * clicked: the re-format changes the layout, and a click during it lands on the old place of the button.
 */
async function fillJson(editor: Locator, value: unknown): Promise<void> {
  await editor.fill(JSON.stringify(value));
  await editor.press('Tab');
  const [firstKey] = Object.keys(value as object);
  await editor.getByText(`"${firstKey}": `).first().waitFor();
}

/**
 * Waits until `target` shows, refreshing between looks the way a person would: the current details pane is fetched
 * once and re-read on the "R" key (the pane says "Press the R for freshness"); a list is reloaded.
 */
async function untilShown(
  target: Locator,
  what: string,
  refresh: () => Promise<unknown> = () => page.keyboard.press('r'),
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await target.first().waitFor({ state: 'visible', timeout: 3_000 });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`the Web UI never showed ${what}`);
      await refresh();
    }
  }
}

/**
 * Waits until the page or one of its frames shows `text`: the User Metadata panes render their markdown in iframes
 * of their own (summary, details, current details), and which of them holds it is the UI's business.
 */
async function untilInSomeFrame(text: string, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const frame of page.frames()) {
      const body = await frame
        .locator('body')
        .innerText({ timeout: 2_000 })
        .catch(() => '');
      if (body.replace(/\s+/g, ' ').includes(text)) return;
    }
    if (Date.now() > deadline) throw new Error(`the Web UI never showed ${what}`);
    await page.waitForTimeout(1_000);
  }
}

/** The workflow page's "Current Details" pane: the workflow's progress markdown, rendered in an iframe. */
const currentDetails = () => page.frameLocator('iframe').locator('body');

async function openTab(name: string): Promise<void> {
  await page.getByRole('tab', { name }).click();
}

/** More Actions → Send an Update → pick `name`, type the JSON, and return the dialog (not yet submitted). */
async function updateForm(name: string, data: unknown): Promise<Locator> {
  await page.getByRole('button', { name: 'More Actions' }).click();
  await page.getByRole('menuitem', { name: 'Send an Update' }).click();
  const dialog = page.getByRole('dialog', { name: 'Send an Update' });
  await dialog.getByRole('button', { name: 'Select an Update' }).click();
  await dialog.getByRole('option', { name, exact: true }).click();
  await fillJson(dialog.locator('.cm-content'), data);
  return dialog;
}

async function submitUpdate(dialog: Locator): Promise<void> {
  await dialog.getByRole('button', { name: 'Submit' }).click();
  await page.getByText('Update successful').first().waitFor();
  await dialog.waitFor({ state: 'hidden' });
}

describe('the Temporal Web UI', () => {
  it('runs a whole maintenance: start form, current details, progress query, decide and release updates', async () => {
    const before = await recordBefore(env!.kube);
    onTestFailed(() => shot('failure'));

    // 1. Workflows → Start Workflow: id, task queue, type, and ONE JSON object as input.
    await page.goto(ui('/workflows'));
    await page.getByRole('button', { name: 'Start Workflow' }).click();
    await page.getByRole('heading', { name: 'Start a Workflow' }).waitFor();
    await page.getByLabel('Workflow ID').fill(WORKFLOW_ID);
    await page.getByLabel('Task Queue').fill(env!.taskQueue);
    await page.getByLabel('Workflow Type').fill('nodeMaintenance');
    await page.getByText('Task Queue is Active').waitFor(); // checked on leaving the field: our worker polls it
    await fillJson(page.locator('.cm-content'), { node: NODE, reason: 'DIMM swap' });
    await shot('01-start-form');
    await page.getByRole('button', { name: 'Start Workflow' }).click();
    await page.getByText('Workflow started successfully').first().waitFor();

    // 2. The list of all maintenance of the node (search attribute MaintenanceNode) shows it; its page shows the
    //    escalation in the current details.
    await page.goto(ui(`/workflows?query=${encodeURIComponent(`MaintenanceNode="${NODE}"`)}`));
    const row = page.getByRole('link', { name: WORKFLOW_ID, exact: true });
    await untilShown(row, 'the workflow in the list', () => page.reload());
    await row.first().click();
    await page.getByRole('heading', { name: WORKFLOW_ID }).waitFor();
    await openTab('User Metadata');
    await page.getByRole('heading', { name: 'Current Details' }).waitFor();
    await untilShown(currentDetails().getByText('Waiting for a decision'), 'the pending decision');
    await currentDetails().getByText(`Maintenance of ${NODE}`).waitFor();
    await currentDetails().getByText('{"vmi":"vms/db","action":"shutdown"}').waitFor();
    await currentDetails()
      .getByText(/DisksNotLiveMigratable/)
      .first()
      .waitFor();
    await shot('02-current-details-escalation');

    // 2b. The saved query of the README lists every run waiting for an operator: this one is in it.
    await page.goto(ui(`/workflows?query=${encodeURIComponent(DECISIONS_PENDING_QUERY)}`));
    await untilShown(row, 'the run in the list of runs waiting for a decision', () => page.reload());
    await shot('02b-waiting-for-a-decision');
    await row.first().click();
    await page.getByRole('heading', { name: WORKFLOW_ID }).waitFor();

    // 3. Queries tab: the `progress` query, as JSON.
    await openTab('Queries');
    expect(await page.getByLabel('Query Type').inputValue()).toBe('progress');
    await page.getByRole('button', { name: 'Run Query' }).click();
    const result = page.locator('.cm-content').last();
    await result.getByText('"phase": "EvacuateVMs"').first().waitFor();
    await result.getByText('"state": "awaitingDecision"').first().waitFor();
    await shot('03-progress-query');

    // 4. A wrong answer is refused with the workflow's reason, shown in the form; nothing changes.
    const wrong = await updateForm('decide', { vmi: 'vms/web', action: 'shutdown' });
    await wrong.getByRole('button', { name: 'Submit' }).click();
    await wrong.getByText('no decision is pending for vms/web (pending: vms/db)').first().waitFor();
    await shot('04-update-refused');
    await wrong.getByRole('button', { name: 'Cancel' }).last().click();
    await wrong.waitFor({ state: 'hidden' });
    expect((await vmOf(env!.kube, 'vms', 'web'))?.spec.runStrategy).toBe('Always');
    expect((await vmOf(env!.kube, 'vms', 'db'))?.spec.runStrategy).toBe('Always');

    // 5. The escalation answered with the Send an Update form: shut `db` down (it comes back after the repair).
    const decide = await updateForm('decide', { vmi: 'vms/db', action: 'shutdown' });
    await shot('05-decide-update');
    await submitUpdate(decide);

    // 6. The node is drained and powered off, holding for the repair: the current details say so.
    await openTab('User Metadata');
    await untilShown(currentDetails().getByText(/Send the release update/), 'the hold');
    await currentDetails().getByText('Hold', { exact: true }).first().waitFor();
    await shot('06-current-details-hold');
    expect((await vmOf(env!.kube, 'vms', 'db'))?.spec.runStrategy).toBe('Halted');

    // 7. Repair done: the `release` update, then the page shows the run Completed with its result.
    await submitUpdate(await updateForm('release', { note: 'DIMM replaced' }));
    await page.getByText('Completed', { exact: true }).first().waitFor({ timeout: 180_000 });
    await openTab('History');
    await page.getByText('"outcome": "Completed"').first().waitFor();
    await shot('07-completed');

    // The server's account matches the page, and the cluster is whole again.
    const done = (await env!.client.workflow.getHandle(WORKFLOW_ID).result()) as MaintenanceResult;
    expect(done.outcome).toBe('Completed');
    expect(done.summary).toMatchObject({ migrated: 1, restored: 1 });
    expect(await invariantViolations(env!.kube, before, NODE)).toEqual([]);
  }, 600_000);

  it('shows a run a NodeMaintenance CR started by its summary: node, reason, the CR', async () => {
    onTestFailed(() => shot('failure-nodemaintenance'));
    // A node no VM runs on (the first test's VMs went wherever KubeVirt put them): its drain-only run holds at once.
    const vmis = (await env!.kube.list(kv('virtualmachineinstances'))).items;
    const node = ['worker-2', 'worker-3', 'worker-4'].find((n) => !vmis.some((v) => v.status?.nodeName === n))!;
    const cr = await createNm(world!.env, node, 'BIOS update');
    const summary = `${node}: BIOS update — NodeMaintenance/${cr.metadata.name}`;
    await untilNm(world!.env, cr.metadata.name, 'Succeeded', (c) => c.status?.phase === 'Succeeded');

    await page.goto(ui(`/workflows?query=${encodeURIComponent(`MaintenanceNode="${node}"`)}`));
    const row = page.getByRole('link', { name: `maintenance-${node}`, exact: true });
    await untilShown(row, 'the CR-started run in the list', () => page.reload());
    await row.first().click();
    await page.getByRole('heading', { name: `maintenance-${node}` }).waitFor();
    await openTab('User Metadata');
    await untilInSomeFrame(summary, 'the static summary');
    await untilInSomeFrame(`Requested by: NodeMaintenance/${cr.metadata.name}`, 'the static details');
    await shot('08-nodemaintenance-run');

    await world!.env.kube.delete(nmPath(cr.metadata.name));
    await untilNmGone(world!.env, cr.metadata.name);
  }, 300_000);
});
