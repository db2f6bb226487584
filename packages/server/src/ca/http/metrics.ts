// Prometheus metrics of the CA (/metrics): certificates issued, requests refused by error code,
// and the time to issue a certificate (token check, proof of possession, CT log, signing).

import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FastifyInstance } from 'fastify';

export class CaMetrics {
  readonly registry = new Registry();
  private readonly issued = new Counter({ name: 'sigstack_ca_certificates_issued_total', help: 'Signing certificates issued', registers: [this.registry] });
  private readonly refused = new Counter({ name: 'sigstack_ca_requests_refused_total', help: 'Requests answered with an error, by error code', labelNames: ['code'], registers: [this.registry] });
  private readonly latency = new Histogram({
    name: 'sigstack_ca_issue_seconds',
    help: 'Time from request to issued certificate (SCT included)',
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  observeIssued(ms: number): void {
    this.issued.inc();
    this.latency.observe(ms / 1000);
  }

  observeRefused(code: string): void {
    this.refused.inc({ code });
  }

  register(app: FastifyInstance): void {
    app.get('/metrics', async (_request, reply) => reply.header('content-type', this.registry.contentType).send(await this.registry.metrics()));
  }
}
