import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/domain/durations.js';
import { InvalidInputError } from '../../src/domain/errors.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['72h', 259_200_000],
    ['1.5h', 5_400_000],
    ['7d', 604_800_000],
    ['1m30.5s', 90_500],
    ['.5s', 500],
    ['0s', 0],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '   ', '-5m', '5 minutes', '10', '1.5', 'm', '5x', '1h 30m', '5mm', 'h1', '1e3s', '+5m'])(
    'rejects %j',
    (text) => {
      expect(() => parseDuration(text)).toThrow(InvalidInputError);
    },
  );

  it('names the field and shows examples in the message', () => {
    expect(() => parseDuration('5 minutes', 'policy.migration.timeout')).toThrow(
      'policy.migration.timeout: "5 minutes" is not a duration (use e.g. 30s, 5m, 1h30m)',
    );
  });

  it('asks for a unit when given a bare number', () => {
    expect(() => parseDuration('10', 'policy.shutdown.timeout')).toThrow(
      'policy.shutdown.timeout: "10" is not a duration: add a unit (e.g. 10s, 10m or 10h)',
    );
  });

  it('says a negative duration is negative', () => {
    expect(() => parseDuration('-5m')).toThrow('"-5m" is not a duration: it must not be negative');
  });

  it('carries the problem in issues', () => {
    try {
      parseDuration('soon', 'policy.hold.deadline');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).issues).toEqual([
        'policy.hold.deadline: "soon" is not a duration (use e.g. 30s, 5m, 1h30m)',
      ]);
      expect((error as InvalidInputError).name).toBe('InvalidInputError');
    }
  });
});

describe('formatDuration', () => {
  it.each([
    [5_400_000, '1h30m'],
    [1500, '1.5s'],
    [250, '250ms'],
    [0, '0s'],
    [30_000, '30s'],
    [604_800_000, '7d'],
    [90_061_000, '1d1h1m1s'],
    [3_600_500, '1h0.5s'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it.each([1, 999, 1000, 1001, 59_999, 61_500, 3_599_999, 5_400_000, 86_399_999, 777_777_777])(
    'round-trips %d ms through parseDuration',
    (ms) => {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    },
  );

  it.each(['30s', '5m', '1h30m', '500ms', '2d3h'])('formats %s back to the same text', (text) => {
    expect(formatDuration(parseDuration(text))).toBe(text);
  });
});
