// `npm run worker`: the production entry point (src/main.ts) without the HTTP API unless PITSTOP_API_ADDRESS asks
// for it, for a worker-only process next to an API elsewhere.
process.env.PITSTOP_API_ADDRESS ??= 'off';
await import('../main.js');
