#!/usr/bin/env node
// The `pitstop` executable (package.json "bin"; `npm run pitstop -- ...` from a checkout).
import { run } from './main.js';

process.exitCode = await run(process.argv.slice(2));
