// Structured logs: one JSON object per line on stdout, for the SDK's own logs (worker, workflow and activity
// loggers carry workflowId, runId, activityType, …) and Pitstop's. A Node's name is added to activity logs by the
// interceptor below. Values under keys that name a secret are never written.
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

const SEVERITY: Record<LogLevel, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };
const SECRET_KEY = /token|password|passwd|secret|api.?key|authorization|credential|private.?key/i;

function clean(value: unknown, depth = 0): unknown {
  if (value instanceof Error) {
    return {
      name: value.name,
      message: value.message,
      ...(value.cause ? { cause: clean(value.cause, depth + 1) } : {}),
    };
  }
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (depth > 4) return '[…]';
  if (Array.isArray(value)) return value.slice(0, 20).map((v) => clean(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = SECRET_KEY.test(key) ? '[redacted]' : clean(v, depth + 1);
  return out;
}

export class JsonLogger implements Logger {
  constructor(
    readonly level: LogLevel = 'INFO',
    private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  ) {}

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    if (SEVERITY[level] < SEVERITY[this.level]) return;
    const fields = (meta ? clean(meta) : {}) as Record<string, unknown>;
    this.write(JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields }));
  }
  trace(message: string, meta?: LogMetadata) {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata) {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata) {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata) {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata) {
    this.log('ERROR', message, meta);
  }
}

/** Adds `node` (every Pitstop activity takes an object with the node's name) to the activity's log attributes. */
export const nodeLogAttributes: ActivityInterceptorsFactory = () => {
  let node: string | undefined;
  return {
    inbound: {
      async execute(input, next) {
        const first = input.args[0] as { node?: unknown } | undefined;
        if (first && typeof first.node === 'string') node = first.node;
        return await next(input);
      },
    },
    outbound: {
      getLogAttributes(input, next) {
        return next(node ? { ...input, node } : input);
      },
    },
  };
};
