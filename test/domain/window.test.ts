// Maintenance windows on the wall clock of their time zone, across midnight and DST changes.
import { describe, expect, it } from 'vitest';
import { isInWindow, nextWindowOpening } from '../../src/domain/window.js';
import type { MaintenanceWindow } from '../../src/domain/rolling.js';

const ALL: MaintenanceWindow['days'] = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const at = (text: string) => Date.parse(text);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('isInWindow', () => {
  const nightly: MaintenanceWindow = { days: ALL, start: '22:00', end: '06:00', timeZone: 'UTC' };

  it('includes the start and excludes the end', () => {
    const office: MaintenanceWindow = { days: ALL, start: '09:00', end: '17:00', timeZone: 'UTC' };
    expect(isInWindow(office, at('2026-11-24T08:59:59Z'))).toBe(false);
    expect(isInWindow(office, at('2026-11-24T09:00:00Z'))).toBe(true);
    expect(isInWindow(office, at('2026-11-24T16:59:00Z'))).toBe(true);
    expect(isInWindow(office, at('2026-11-24T17:00:00Z'))).toBe(false);
  });

  it('runs across midnight into the next day', () => {
    expect(isInWindow(nightly, at('2026-11-24T23:30:00Z'))).toBe(true);
    expect(isInWindow(nightly, at('2026-11-25T05:59:00Z'))).toBe(true);
    expect(isInWindow(nightly, at('2026-11-25T06:00:00Z'))).toBe(false);
    expect(isInWindow(nightly, at('2026-11-25T12:00:00Z'))).toBe(false);
  });

  it('belongs to the day it opens on: Saturday night runs into Sunday morning, Sunday night does not open', () => {
    const saturday: MaintenanceWindow = { ...nightly, days: ['Sat'] };
    // 2026-11-28 is a Saturday.
    expect(isInWindow(saturday, at('2026-11-28T23:00:00Z'))).toBe(true);
    expect(isInWindow(saturday, at('2026-11-29T03:00:00Z'))).toBe(true);
    expect(isInWindow(saturday, at('2026-11-29T23:00:00Z'))).toBe(false);
    expect(isInWindow(saturday, at('2026-11-28T03:00:00Z'))).toBe(false);
  });

  it('uses the local time of its time zone, summer or winter', () => {
    const berlin: MaintenanceWindow = { days: ALL, start: '22:00', end: '23:00', timeZone: 'Europe/Berlin' };
    expect(isInWindow(berlin, at('2026-07-01T20:30:00Z'))).toBe(true); // CEST, UTC+2
    expect(isInWindow(berlin, at('2026-07-01T21:30:00Z'))).toBe(false);
    expect(isInWindow(berlin, at('2026-12-01T21:30:00Z'))).toBe(true); // CET, UTC+1
    expect(isInWindow(berlin, at('2026-12-01T20:30:00Z'))).toBe(false);
  });
});

describe('nextWindowOpening', () => {
  it('is now when the window is open', () => {
    const w: MaintenanceWindow = { days: ALL, start: '00:00', end: '23:59', timeZone: 'UTC' };
    expect(nextWindowOpening(w, at('2026-11-24T10:00:30Z'))).toBe(at('2026-11-24T10:00:30Z'));
  });

  it('is later today, or tomorrow once today’s has passed', () => {
    const w: MaintenanceWindow = { days: ALL, start: '22:00', end: '23:00', timeZone: 'UTC' };
    expect(iso(nextWindowOpening(w, at('2026-11-24T10:00:00Z')))).toBe('2026-11-24T22:00:00.000Z');
    expect(iso(nextWindowOpening(w, at('2026-11-24T23:10:00Z')))).toBe('2026-11-25T22:00:00.000Z');
  });

  it('skips days the window does not open on', () => {
    // Tuesday 2026-11-24, window only on Saturdays.
    const w: MaintenanceWindow = { days: ['Sat'], start: '02:00', end: '04:00', timeZone: 'UTC' };
    expect(iso(nextWindowOpening(w, at('2026-11-24T10:00:00Z')))).toBe('2026-11-28T02:00:00.000Z');
  });

  it('converts the local start to the instant, in a time zone east or west of UTC', () => {
    const tokyo: MaintenanceWindow = { days: ALL, start: '01:00', end: '02:00', timeZone: 'Asia/Tokyo' };
    expect(iso(nextWindowOpening(tokyo, at('2026-11-24T10:00:00Z')))).toBe('2026-11-24T16:00:00.000Z');
    const ny: MaintenanceWindow = { days: ['Wed'], start: '23:30', end: '01:00', timeZone: 'America/New_York' };
    expect(iso(nextWindowOpening(ny, at('2026-11-24T10:00:00Z')))).toBe('2026-11-26T04:30:00.000Z');
  });

  it('opens at the first minute after a start time the spring-forward night skips', () => {
    // Europe/Berlin, 2026-03-29: 02:00 local jumps to 03:00; a 02:30 start opens at 03:00 CEST = 01:00Z.
    const w: MaintenanceWindow = { days: ALL, start: '02:30', end: '04:00', timeZone: 'Europe/Berlin' };
    expect(iso(nextWindowOpening(w, at('2026-03-28T12:00:00Z')))).toBe('2026-03-29T01:00:00.000Z');
    expect(isInWindow(w, at('2026-03-29T00:59:00Z'))).toBe(false);
  });

  it('opens at the first of two identical local times on the fall-back night', () => {
    // Europe/Berlin, 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 happens first at 00:30Z.
    const w: MaintenanceWindow = { days: ALL, start: '02:30', end: '02:45', timeZone: 'Europe/Berlin' };
    expect(iso(nextWindowOpening(w, at('2026-10-24T12:00:00Z')))).toBe('2026-10-25T00:30:00.000Z');
    // ...and the window is open again during the repeated hour.
    expect(isInWindow(w, at('2026-10-25T01:35:00Z'))).toBe(true);
  });
});
