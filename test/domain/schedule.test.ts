// The schedule input, and its cron expression checked field by field the way Temporal's scheduler reads it.
import { describe, expect, it } from 'vitest';
import { cronProblems, parseScheduleRequest } from '../../src/domain/schedule.js';

const withCron = (cron: string) => ({ name: 'weekly', cron, rolling: { selector: 'role=worker' } });

describe('cronProblems', () => {
  it.each([
    '0 22 * * SAT',
    '*/15 * * * *',
    '0 0-23/2 * * *',
    '5,35 9-17 * * mon-fri',
    '0 3 1,15 jan,jul *',
    '0 3 31 12 7',
    '0 0 * * Su',
    '30 4 * February *',
    '3/5 * * * *',
    '  0   22 * * sat  ',
    '@daily',
  ])('accepts %j', (cron) => {
    expect(cronProblems(cron)).toEqual([]);
  });

  it.each([
    ['0 25 * * *', "field 'hour' is 25, allowed 0-23"],
    ['61 * * * *', "field 'minute' is 61, allowed 0-59"],
    ['* * 32 * *', "field 'day of month' is 32, allowed 1-31"],
    ['* * 0 * *', "field 'day of month' is 0, allowed 1-31"],
    ['0 0 * 13 *', "field 'month' is 13, allowed 1-12"],
    ['0 0 * * 8', "field 'day of week' is 8, allowed 0-7"],
    ['0 1-30 * * *', "field 'hour' is 30, allowed 0-23"],
    ['0 22-2 * * *', `field 'hour' range "22-2" ends before it starts`],
    ['*/0 * * * *', `field 'minute' has "*/0": a step is "/" and a whole number from 1`],
    ['1/2/3 * * * *', `field 'minute' has "1/2/3": a step is "/" and a whole number from 1`],
    ['1-2-3 * * * *', `field 'minute' has "1-2-3": a range is "a-b"`],
    ['0 0 L * *', `field 'day of month' has "L": expected a number`],
    ['0 0 * * 5#3', `field 'day of week' has "5#3": expected a number or a name`],
    ['0 0 * ja *', `field 'month' has "ja": expected a number or a name`],
    ['0 0 * * x', `field 'day of week' has "x": expected a number or a name`],
  ])('refuses %j: %s', (cron, problem) => {
    expect(cronProblems(cron)).toEqual([problem]);
  });

  it('names every bad field at once', () => {
    expect(cronProblems('61 25 32 13 8')).toEqual([
      "field 'minute' is 61, allowed 0-59",
      "field 'hour' is 25, allowed 0-23",
      "field 'day of month' is 32, allowed 1-31",
      "field 'month' is 13, allowed 1-12",
      "field 'day of week' is 8, allowed 0-7",
    ]);
  });

  it('refuses a wrong field count and unknown shorthands', () => {
    expect(cronProblems('* * *')).toEqual(['"* * *" has 3 fields; expected 5 (m h dom mon dow)']);
    expect(cronProblems('@fortnightly')[0]).toMatch(/not a known shorthand/);
  });
});

describe('parseScheduleRequest', () => {
  it('keeps a valid cron expression, trimmed, in UTC by default', () => {
    expect(parseScheduleRequest(withCron(' 0 22 * * SAT '))).toMatchObject({
      name: 'weekly',
      cron: '0 22 * * SAT',
      timeZone: 'UTC',
      paused: false,
    });
  });

  it('names the out-of-range cron field under cron, alongside the other problems', () => {
    expect(() => parseScheduleRequest({ ...withCron('0 25 * * *'), timeZone: 'Mars/Olympus' })).toThrow(
      expect.objectContaining({
        name: 'InvalidInputError',
        issues: ["cron: field 'hour' is 25, allowed 0-23", 'timeZone: "Mars/Olympus" is not an IANA time zone'],
      }),
    );
  });
});
