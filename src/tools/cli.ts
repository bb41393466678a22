// `npm run tools`: find or build every binary, print where each one is.
import { ensureTools } from './binaries.js';

const started = Date.now();
const tools = await ensureTools();
console.log(`temporal                 ${tools.temporal}`);
for (const [name, path] of Object.entries(tools.kube)) console.log(`${name.padEnd(24)} ${path}`);
console.log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
