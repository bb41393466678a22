// Kept for existing imports: the configuration now lives in one place, src/config.ts.
export { ConfigError, loadConfig, type PitstopConfig } from '../config.js';
