// A `sigstack log serve --postgres …` process of the built CLI, for the tests that run a
// PostgreSQL log as several processes: resolved with its URL once it serves (rejected, with what
// it printed, if it exits first). killLogProcesses() ends every one still running (from after()).

import { spawn, type ChildProcess } from 'node:child_process';

export const CLI = new URL('../../../cli/dist/bundle/main.js', import.meta.url).pathname;

export interface LogProcess {
  child: ChildProcess;
  url: string;
  pid: number;
}

const running = new Set<ChildProcess>();

/** Spawns `sigstack log serve ARGS` (ARGS name --postgres, --key, --name, …; --port 0 is added). */
export function serveLogProcess(args: string[]): Promise<LogProcess> {
  const child = spawn(process.execPath, [CLI, 'log', 'serve', ...args, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  child.on('exit', () => running.delete(child));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) resolve({ child, url: match[1]!, pid: child.pid! });
    });
    child.once('exit', (code, signal) => {
      // Its own lines (not the JSON request log), when it failed: the test's output says why.
      if (code !== null && code !== 0) process.stdout.write(`# log serve ${child.pid} exited (${code}): ${out.split('\n').filter((l) => !l.startsWith('{')).join(' | ').slice(0, 900)}\n`);
      reject(new Error(`log serve exited (${code ?? signal}): ${out}`));
    });
  });
}

export function killLogProcesses(): void {
  for (const child of running) child.kill('SIGKILL');
}
