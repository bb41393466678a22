// The primitives every part of the configuration reads with: one getter over the environment, a readability check
// that says why a file cannot be read, host:port parsing, and the error that carries every problem found at once.
import { accessSync, constants } from 'node:fs';
import type { ConfigVariable } from './variables.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

export interface Listen {
  host: string;
  port: number;
}

/** A variable's value, trimmed; empty counts as unset (a blank line in a Secret should not mean "the empty name"). */
export type Getter = (name: ConfigVariable) => string | undefined;

export const getter =
  (env: NodeJS.ProcessEnv): Getter =>
  (name) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };

/** Why `path` cannot be read (ENOENT, EACCES, ...), or undefined when it can. */
export function unreadable(path: string): string | undefined {
  try {
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'unreadable';
  }
}

export function parseListen(name: ConfigVariable, text: string, problems: string[]): Listen {
  const m = /^(\[[0-9a-fA-F:]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    problems.push(`${name} "${text}" is not host:port (e.g. 0.0.0.0:8080)`);
    return { host: '0.0.0.0', port: 0 };
  }
  return { host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port };
}
