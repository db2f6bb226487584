// CPU time of processes on Linux, read from /proc: a bench reports CPU-seconds per unit of work
// for each process it starts (a figure other load on the machine barely moves, unlike a rate).
// Elsewhere (no /proc) every reading is undefined and the bench prints none.

import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // Linux's USER_HZ on every architecture node runs on

/** User + system CPU seconds of a process (all its threads), or undefined when it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) in parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The process and its direct children (e.g. a postmaster and its backends). */
export function processFamily(pid: number): number[] {
  const family = [pid];
  try {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === pid) family.push(Number(name));
      } catch {
        // Exited meanwhile.
      }
    }
  } catch {
    return family;
  }
  return family;
}

/** CPU seconds of each named group of processes, taken now; diff two readings with `cpuSince`. */
export function cpuReading(groups: Record<string, number[]>): Record<string, Map<number, number>> {
  const out: Record<string, Map<number, number>> = {};
  for (const [name, pids] of Object.entries(groups)) {
    out[name] = new Map(pids.flatMap((pid) => {
      const s = processCpuSeconds(pid);
      return s === undefined ? [] : [[pid, s] as [number, number]];
    }));
  }
  return out;
}

/** CPU seconds each group used between two readings (processes present in both, or new ones). */
export function cpuSince(before: Record<string, Map<number, number>>, after: Record<string, Map<number, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, now] of Object.entries(after)) {
    let total = 0;
    for (const [pid, seconds] of now) total += seconds - (before[name]?.get(pid) ?? 0);
    out[name] = total;
  }
  return out;
}
