// Warming a bench up until its throughput stops climbing: V8 optimizes hot code on background
// threads, which get little CPU while the bench keeps every core busy, so the first seconds of a
// run are slower than the rest (by 10–40 % here). Measuring starts once the JIT has settled.
// measureRate warms up, then times one run by the wall clock and by this process's CPU time.

/**
 * Runs `window` (which does work for `ms` and returns how much it completed) in half-second
 * windows until six in a row bring no gain over 2 % on the best so far, or `maxMs` has passed
 * (BENCH_WARMUP_SECONDS, default 20).
 */
export async function warmUp(window: (ms: number) => Promise<number>, maxMs = Number(process.env.BENCH_WARMUP_SECONDS ?? 20) * 1000): Promise<void> {
  let best = 0;
  for (let stale = 0, waited = 0; stale < 6 && waited < maxMs; waited += 500) {
    const done = await window(500);
    if (done > best * 1.02) {
      best = done;
      stale = 0;
    } else {
      stale++;
    }
  }
}

/**
 * Warms `window` up, then runs it for `seconds`: the completed count per second of wall time, and
 * per CPU-second of every thread of this process (what one costs, whatever else the machine runs).
 */
export async function measureRate(window: (ms: number) => Promise<number>, seconds: number): Promise<{ perSecond: number; perCpuSecond: number }> {
  await warmUp(window);
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const count = await window(seconds * 1000);
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  return { perSecond: Math.round(count / elapsed), perCpuSecond: Math.round(count / ((cpu.user + cpu.system) / 1e6)) };
}
