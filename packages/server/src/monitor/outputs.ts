// Where the monitor's findings go: JSON lines on stdout, appended to --output-file, POSTed to
// --webhook (retried with exponential back-off), and Prometheus metrics on --metrics-port.

import { appendFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';

export type MonitorEvent = { type: 'alert' | 'match' | 'error' | 'checkpoint' } & Record<string, unknown>;

export interface OutputOptions {
  stdout?: (line: string) => void;
  outputFile?: string;
  webhook?: string;
  webhookAttempts?: number;
  webhookBaseDelayMs?: number;
  onWebhookFailure?: (message: string) => void;
}

export class MonitorMetrics {
  readonly registry = new Registry();
  readonly checkpoints = new Counter({ name: 'sigstack_monitor_checkpoints_verified_total', help: 'Checkpoints verified and proved consistent', registers: [this.registry] });
  readonly entries = new Counter({ name: 'sigstack_monitor_entries_scanned_total', help: 'Log entries read and matched', registers: [this.registry] });
  readonly matches = new Counter({ name: 'sigstack_monitor_matches_total', help: 'Entries matching a watched identity', registers: [this.registry] });
  readonly alerts = new Counter({ name: 'sigstack_monitor_alerts_total', help: 'Alerts (log misbehaviour), by check', labelNames: ['check'], registers: [this.registry] });
  readonly errors = new Counter({ name: 'sigstack_monitor_errors_total', help: 'Runs that failed to reach the log or a witness', registers: [this.registry] });
  readonly lastSuccess = new Gauge({ name: 'sigstack_monitor_last_success_timestamp_seconds', help: 'When a run last completed without error', registers: [this.registry] });
  readonly treeSize = new Gauge({ name: 'sigstack_monitor_tree_size', help: 'Size of the last verified checkpoint', registers: [this.registry] });

  /** Serves /metrics on 127.0.0.1:`port` (0: any free port). */
  serve(port: number, host = '127.0.0.1'): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end('only /metrics is served here\n');
        return;
      }
      void this.registry.metrics().then((text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text));
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve(server));
    });
  }
}

export class MonitorOutputs {
  private pending: Promise<void>[] = [];

  constructor(private readonly options: OutputOptions) {}

  emit(event: MonitorEvent): void {
    const line = JSON.stringify(event);
    (this.options.stdout ?? ((l) => process.stdout.write(`${l}\n`)))(line);
    if (this.options.outputFile) appendFileSync(this.options.outputFile, `${line}\n`);
    if (this.options.webhook && event.type !== 'checkpoint') this.pending.push(this.post(line));
  }

  private async post(line: string): Promise<void> {
    const attempts = this.options.webhookAttempts ?? 5;
    const base = this.options.webhookBaseDelayMs ?? 500;
    let last = '';
    for (let i = 0; i < attempts; i++) {
      try {
        const res = await fetch(this.options.webhook as string, { method: 'POST', headers: { 'content-type': 'application/json' }, body: line, signal: AbortSignal.timeout(10_000) });
        if (res.ok) return;
        last = `answered ${res.status}`;
      } catch (err) {
        last = String((err as Error).cause ?? (err as Error).message);
      }
      if (i + 1 < attempts) await new Promise((r) => setTimeout(r, base * 2 ** i));
    }
    this.options.onWebhookFailure?.(`the webhook ${this.options.webhook} failed ${attempts} times (${last})`);
  }

  /** Waits for the webhook deliveries started so far. */
  async flush(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    await Promise.all(pending);
  }
}
