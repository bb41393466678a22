/**
 * Maintenance windows: is an instant inside one, and when does the next one open. Pure and DST-safe: the window is
 * compared on the wall clock of its time zone (Intl), so "22:00–06:00 Europe/Berlin" means 22:00 local on every
 * date, whatever the UTC offset that night. A window opens on each of `days` at `start` and closes at `end`, on the
 * same day if `end` is later, else on the next day (across midnight). A start time that does not exist on a
 * spring-forward night opens the window at the first local minute after it.
 */
import { WEEKDAYS, type MaintenanceWindow, type Weekday } from './rolling.js';

const MINUTE = 60_000;

interface WallClock {
  /** Days since 1970-01-01 of the local date (a day counter, not an instant). */
  day: number;
  weekday: Weekday;
  /** Minutes since local midnight. */
  minutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Local date and time of `ms` in `timeZone`, at minute precision. */
function wallClock(ms: number, timeZone: string): WallClock & { localMs: number } {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const localMs = Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
  );
  const day = Math.floor(localMs / (24 * 60 * MINUTE));
  // 1970-01-01 was a Thursday: index 3 in Mon..Sun.
  const weekday = WEEKDAYS[(((day + 3) % 7) + 7) % 7] as Weekday;
  return { day, weekday, minutes: (parts.hour ?? 0) * 60 + (parts.minute ?? 0), localMs };
}

const clockMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const weekdayOf = (day: number) => WEEKDAYS[(((day + 3) % 7) + 7) % 7] as Weekday;

/** True when `ms` lies inside a window (start inclusive, end exclusive). */
export function isInWindow(window: MaintenanceWindow, ms: number): boolean {
  const start = clockMinutes(window.start);
  const end = clockMinutes(window.end);
  const now = wallClock(ms, window.timeZone);
  const opensOn = (day: number) => window.days.includes(weekdayOf(day));
  if (start < end) return opensOn(now.day) && now.minutes >= start && now.minutes < end;
  // Across midnight: the evening part belongs to today's window, the morning part to yesterday's.
  return (opensOn(now.day) && now.minutes >= start) || (opensOn(now.day - 1) && now.minutes < end);
}

/** An instant whose wall clock in `timeZone` is near `localMs` (as if UTC); within an hour of it around DST shifts. */
function instantNear(localMs: number, timeZone: string): number {
  const offset = wallClock(localMs, timeZone).localMs - Math.floor(localMs / MINUTE) * MINUTE;
  return localMs - offset;
}

/**
 * The first minute at or after `ms` at which the window is open: `ms` itself when it is open now. Openings happen
 * only at a local start time (or just after it, when a DST gap swallows it), so only the hours around each start
 * are searched, minute by minute. Undefined only if no window opens within the next eight days.
 */
export function nextWindowOpening(window: MaintenanceWindow, ms: number): number | undefined {
  if (isInWindow(window, ms)) return ms;
  const start = clockMinutes(window.start);
  const from = Math.ceil(ms / MINUTE) * MINUTE;
  const today = wallClock(ms, window.timeZone).day;
  for (let day = today - 1; day <= today + 8; day++) {
    if (!window.days.includes(weekdayOf(day))) continue;
    const near = instantNear((day * 24 * 60 + start) * MINUTE, window.timeZone);
    const last = near + 3 * 60 * MINUTE;
    for (let candidate = Math.max(from, near - 2 * 60 * MINUTE); candidate <= last; candidate += MINUTE) {
      if (isInWindow(window, candidate)) return candidate;
    }
  }
  return undefined;
}
