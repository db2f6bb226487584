// Runs a real nginx on 127.0.0.1 for tests (a reverse proxy in front of the stack), with its
// files in a temporary directory, in the foreground as a child of the test; stopped by its pid.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Nginx {
  port: number;
  close(): Promise<void>;
}

/** A free loopback port (listened on, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The README's nginx `location` block (the snippet operators copy), as written there. */
export function readmeNginxLocation(): string {
  const readme = readFileSync(fileURLToPath(new URL('../../../../README.md', import.meta.url)), 'utf8');
  const block = /```nginx\n([\s\S]*?)```/.exec(readme)?.[1];
  const location = block && /^ {4}location \/ \{\n[\s\S]*?^ {4}\}\n/m.exec(block)?.[0];
  if (!location) throw new Error('README.md has no ```nginx block with a `location / { … }` inside a server block');
  return location;
}

async function waitForPort(port: number, child: ChildProcess, errors: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${errors()}`);
    try {
      await fetch(`http://127.0.0.1:${port}/nginx-probe`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nginx did not listen on ${port}: ${errors()}`);
}

/** Starts nginx serving `serverBody` (directives inside `server { … }`) on `port` (default: a free one). */
export async function startNginx(dir: string, serverBody: string, port?: number): Promise<Nginx> {
  mkdirSync(join(dir, 'temp'), { recursive: true });
  port ??= await freePort();
  const temp = (name: string) => join(dir, 'temp', name);
  const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${temp('body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  server {
    listen 127.0.0.1:${port};
${serverBody}
  }
}
`;
  const confPath = join(dir, 'nginx.conf');
  writeFileSync(confPath, conf);
  let stderr = '';
  const child = spawn('nginx', ['-p', dir, '-c', confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(new Error(`cannot run nginx (${err.message}); install it (Debian: apt-get install nginx-light)`)));
  });
  await spawned;
  const errors = () => {
    let log = '';
    try {
      log = readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {
      // none yet
    }
    return `${stderr}${log}`.trim();
  };
  await waitForPort(port, child, errors);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
