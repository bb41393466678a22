// `npm run bench [-- <name> [options]]`: runs the benchmarks, each in its own process, and prints their figures.
//   startup  start-up figures (tools, Temporal dev server, sandbox, dry-run latency)        bench/run.ts
//   drain    drain efficiency vs ideal and kubectl drain, reaction latency, cost per VM   bench/drain.ts
//            options: --sizes 10,50,200  --no-kubectl
//   scale    rolling maintenance of many nodes: wall time, worker memory, largest history  bench/scale.ts
//            options: --nodes 1000  --vms 20  --max-unavailable 20
//   repair   a crashed node's VMs recovered elsewhere: time from the start vs ideal      bench/repair.ts
//            options: --vms 20
// Without a name all four run, in that order, with their default options.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCHMARKS: Record<string, string> = {
  startup: 'run.ts',
  drain: 'drain.ts',
  scale: 'scale.ts',
  repair: 'repair.ts',
};
const [name, ...options] = process.argv.slice(2);
if (name !== undefined && !(name in BENCHMARKS)) {
  console.error(`unknown benchmark "${name}"; choose one of: ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exit(2);
}
const chosen = name ? [name] : Object.keys(BENCHMARKS);
let status = 0;
for (const bench of chosen) {
  const file = fileURLToPath(new URL(`./${BENCHMARKS[bench]}`, import.meta.url));
  console.log(`\n=== ${bench} ===`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', file, ...(name ? options : [])], { stdio: 'inherit' });
  if (run.status !== 0) {
    console.error(`benchmark ${bench} failed (exit ${run.status ?? run.signal})`);
    status = 1;
  }
}
process.exit(status);
