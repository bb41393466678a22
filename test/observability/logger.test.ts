// The JSON logger: one parseable object a line, level filtering, and values under secret-like keys never written.
import { describe, expect, it } from 'vitest';
import { JsonLogger } from '../../src/observability/logger.js';

function capture(level: ConstructorParameters<typeof JsonLogger>[0]) {
  const lines: string[] = [];
  return { logger: new JsonLogger(level, (line) => lines.push(line)), lines };
}

describe('JsonLogger', () => {
  it('writes one JSON object per line with time, level, message and the metadata', () => {
    const { logger, lines } = capture('INFO');
    logger.info('activity completed', { workflowId: 'maintenance-worker-3', node: 'worker-3', attempt: 1 });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'INFO',
      msg: 'activity completed',
      workflowId: 'maintenance-worker-3',
      node: 'worker-3',
      attempt: 1,
    });
    expect(Number.isNaN(Date.parse(JSON.parse(lines[0]!).time))).toBe(false);
  });

  it('drops what is below its level', () => {
    const { logger, lines } = capture('WARN');
    logger.debug('noise');
    logger.info('noise');
    logger.warn('kept');
    logger.error('kept too');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['kept', 'kept too']);
  });

  it('never writes values under secret-like keys, however deep, and keeps errors readable', () => {
    const { logger, lines } = capture('INFO');
    logger.error('request failed', {
      apiKey: 'key-1',
      headers: { Authorization: 'Bearer abc', accept: 'json' },
      bmc: { username: 'admin', password: 'hunter2' },
      tokens: ['t1'],
      error: new Error('boom', { cause: new Error('root cause') }),
    });
    const text = lines[0]!;
    for (const secret of ['key-1', 'Bearer abc', 'hunter2', 't1']) expect(text).not.toContain(secret);
    const entry = JSON.parse(text);
    expect(entry.headers).toEqual({ Authorization: '[redacted]', accept: 'json' });
    expect(entry.bmc).toEqual({ username: 'admin', password: '[redacted]' });
    expect(entry.error).toEqual({ name: 'Error', message: 'boom', cause: { name: 'Error', message: 'root cause' } });
  });
});
