// Prometheus metrics of a log service (/metrics): appends by result, append latency, batch
// sizes and durations, and the published tree size.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import type { TransparencyLog } from '../engine/log.js';

export class LogMetrics {
  readonly registry = new Registry();
  private readonly appends = new Counter({ name: 'sigstack_log_appends_total', help: 'Entries submitted, by result', labelNames: ['result'], registers: [this.registry] });
  private readonly latency = new Histogram({
    name: 'sigstack_log_append_seconds',
    help: 'Time from request to durable, checkpointed entry',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  private readonly batchSize = new Histogram({ name: 'sigstack_log_batch_entries', help: 'Entries per committed batch', buckets: [1, 4, 16, 64, 256, 1024], registers: [this.registry] });
  private readonly batchSeconds = new Histogram({ name: 'sigstack_log_batch_seconds', help: 'Time to commit a batch and publish its checkpoint', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 1], registers: [this.registry] });
  private readonly treeSize = new Gauge({ name: 'sigstack_log_tree_size', help: 'Entries in the published tree', registers: [this.registry] });

  constructor(log: TransparencyLog) {
    collectDefaultMetrics({ register: this.registry });
    this.treeSize.set(log.checkpoint.size);
    log.onBatch = (stats) => {
      this.batchSize.observe(stats.size);
      this.batchSeconds.observe(stats.durationMs / 1000);
      this.treeSize.set(stats.treeSize);
    };
  }

  observeAppend(result: 'created' | 'duplicate' | 'rejected', ms: number): void {
    this.appends.inc({ result });
    if (result !== 'rejected') this.latency.observe(ms / 1000);
  }

  register(app: FastifyInstance): void {
    app.get('/metrics', async (_request, reply) => reply.header('content-type', this.registry.contentType).send(await this.registry.metrics()));
  }
}
