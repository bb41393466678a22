// The Temporal CLI dev server (SQLite, optional Web UI) with Pitstop's search attributes registered.
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { freePort, startProcess, waitUntil, type ManagedProcess } from '../sandbox/processes.js';

export const SEARCH_ATTRIBUTES = {
  MaintenanceNode: 'Keyword',
  MaintenancePhase: 'Keyword',
  MaintenanceDecisionsPending: 'Int',
} as const;

export interface DevServerOptions {
  binary: string;
  logDir: string;
  /** Persistent SQLite file; in-memory when absent. */
  dbFile?: string;
  /** SQLite pragmas for that file, e.g. { synchronous: 'off' } for a database thrown away afterwards. */
  sqlitePragmas?: Record<string, string>;
  ui?: boolean;
  port?: number;
  uiPort?: number;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startTemporalDevServer(options: DevServerOptions): Promise<DevServer> {
  const port = options.port ?? (await freePort());
  const uiPort = options.ui ? (options.uiPort ?? (await freePort())) : undefined;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--log-level',
    'warn',
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([key, type]) => ['--search-attribute', `${key}=${type}`]),
    ...(options.dbFile ? ['--db-filename', options.dbFile] : []),
    ...Object.entries(options.sqlitePragmas ?? {}).flatMap(([key, value]) => ['--sqlite-pragma', `${key}=${value}`]),
    ...(uiPort ? ['--ui-port', String(uiPort)] : ['--headless']),
  ];
  const proc = startProcess('temporal', options.binary, args, join(options.logDir, 'temporal.log'));
  const address = `127.0.0.1:${port}`;
  await waitUntil(
    'Temporal dev server',
    async () => {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return true;
      } finally {
        await connection.close();
      }
    },
    { timeoutMs: 60_000, process: proc, intervalMs: 200 },
  );
  return {
    address,
    namespace: 'default',
    uiUrl: uiPort ? `http://127.0.0.1:${uiPort}` : undefined,
    process: proc,
    stop: () => proc.stop(),
  };
}
