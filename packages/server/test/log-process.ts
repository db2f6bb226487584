// A log service in its own process, for tests that kill it: `node log-process.js DIR PORT`
// prints "listening URL" once it serves.

import { startLogService } from '../src/log/service.js';

const [dir, port] = process.argv.slice(2);
const service = await startLogService({ dir: dir as string, port: Number(port) });
process.stdout.write(`listening ${service.url}\n`);
process.on('SIGTERM', () => {
  void service.close().then(() => process.exit(0));
});
