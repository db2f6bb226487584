// A server under test in its own node process: spawned with the given arguments, ready once its
// stderr matches a pattern (e.g. "serving at URL"), stopped with SIGTERM. BENCH_SERVER_NODE_ARGS
// (e.g. "--cpu-prof") goes to its node, for profiling.

import { spawn, type ChildProcess } from 'node:child_process';

export interface ServerChild {
  child: ChildProcess;
  /** The pattern's match on the child's stderr. */
  match: RegExpExecArray;
  /** SIGTERM, resolved once the process has exited. */
  stop(): Promise<void>;
}

export function startServerChild(args: string[], ready: RegExp, what: string): Promise<ServerChild> {
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stop = (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  };
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const match = ready.exec(err);
      if (match) resolve({ child, match, stop });
    });
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}): ${err.slice(-2000)}`)));
  });
}
