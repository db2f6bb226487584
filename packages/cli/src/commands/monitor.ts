// `sigstack monitor`: watch a transparency log (Rekor v1, tiles / Rekor v2, or CT with --ct):
// prove each checkpoint extends the last one, report entries for watched identities, compare
// with witnesses; and `sigstack monitor compare` for two saved views (gossip).
// Exit status with --once: 0 all good, 1 an error reaching the log or a witness, 2 an alert.

import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CoreError, IdentityMatcher, parseCosignerVkey, parseMonitoredValues, parseTrustedRootJson } from '@sigstack/core';
import { CliError } from '../errors.js';

export const MONITOR_USAGE = `usage: sigstack monitor --log URL (--trusted-root F | --public-key F) --state FILE [--config monitor.yaml]
                        [--once | --interval 5m] [--ct] [--api tiles|v1] [--witness URL=VKEY ...]
                        [--webhook URL] [--output-file F] [--metrics-port P]
       sigstack monitor compare --state A --state B [--log URL (--trusted-root F | --public-key F)]

  Each run verifies the log's latest checkpoint with the trusted key, proves it consistent with
  the one in --state (Rekor v1: /api/v1/log/proof; tiles: computed from the tiles), reads the new
  entries and reports those matching --config (the rekor-monitor YAML: certIdentities, subjects,
  fingerprints, oidMatchers), checks what each --witness cosigned, and only then saves --state.
  Findings are JSON lines on stdout ({"type":"alert"|"match"|"error",...}). With --once the exit
  status is 2 for an alert, 1 for an error reaching the log or a witness, 0 when all is well.`;

const SPEC = {
  log: { type: 'string' },
  'trusted-root': { type: 'string' },
  'public-key': { type: 'string' },
  state: { type: 'string', multiple: true },
  config: { type: 'string' },
  once: { type: 'boolean' },
  interval: { type: 'string' },
  ct: { type: 'boolean' },
  api: { type: 'string' },
  witness: { type: 'string', multiple: true },
  webhook: { type: 'string' },
  'output-file': { type: 'string' },
  'metrics-port': { type: 'string' },
} as const;

type Values = ReturnType<typeof parse>;

function parse(args: string[]) {
  try {
    return parseArgs({ args, options: SPEC, allowPositionals: false }).values;
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message}\n${MONITOR_USAGE}`);
  }
}

function read(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError('FILE_UNREADABLE', `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** "90s", "5m", "1h", or milliseconds. */
export function parseInterval(text: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new CliError('USAGE', `--interval ${JSON.stringify(text)} must be a duration such as 30s, 5m or 1h`);
  const n = Number(m[1]);
  const ms = n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms'];
  if (ms < 1000) throw new CliError('USAGE', '--interval must be at least 1s');
  return ms;
}

function sameUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

function logKey(v: Values, url: string, ct: boolean): KeyObject {
  if (v['public-key']) {
    try {
      return createPublicKey(read(v['public-key'], 'public key'));
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError('PUBLIC_KEY_INVALID', `${v['public-key']} is not a PEM public key`);
    }
  }
  if (!v['trusted-root']) throw new CliError('USAGE', `--trusted-root or --public-key is required\n${MONITOR_USAGE}`);
  let root;
  try {
    root = parseTrustedRootJson(read(v['trusted-root'], 'trusted root'));
  } catch (err) {
    if (err instanceof CoreError) throw new CliError(err.code, err.message);
    throw err;
  }
  const logs = ct ? root.ctlogs : root.tlogs;
  const match = logs.find((l) => sameUrl(l.baseUrl, url)) ?? (ct ? logs.find((l) => sameUrl(`${l.baseUrl}`, `${url}/ct`)) : undefined);
  if (!match) throw new CliError('LOG_NOT_TRUSTED', `the trusted root has no ${ct ? 'CT log' : 'transparency log'} with baseUrl ${url} (it lists ${logs.map((l) => l.baseUrl).join(', ') || 'none'})`);
  return createPublicKey({ key: match.publicKey.rawBytes, format: 'der', type: 'spki' });
}

async function reader(v: Values, url: string, key: KeyObject) {
  const { monitor } = await import('@sigstack/server');
  if (v.ct) return new monitor.CtReader(url, key);
  const api = v.api ?? (await detectApi(url));
  if (api === 'tiles') return new monitor.TilesReader(url, key);
  if (api === 'v1') return new monitor.RekorV1Reader(url, key);
  throw new CliError('USAGE', '--api must be tiles or v1');
}

/** Tiles when the log serves /checkpoint, else the Rekor v1 API. */
async function detectApi(url: string): Promise<'tiles' | 'v1'> {
  try {
    const res = await fetch(`${url}/checkpoint`, { signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    return res.ok ? 'tiles' : 'v1';
  } catch {
    return 'v1'; // the run reports the unreachable log
  }
}

function witnesses(specs: readonly string[] | undefined) {
  return (specs ?? []).map((spec) => {
    const at = spec.lastIndexOf('=', spec.indexOf('+'));
    // URL=VKEY: the URL ends at the last '=' before the vkey's first '+'.
    const split = at > 0 ? at : spec.indexOf('=');
    if (split <= 0) throw new CliError('USAGE', `--witness ${JSON.stringify(spec)} must be URL=VKEY`);
    try {
      return { url: spec.slice(0, split), key: parseCosignerVkey(spec.slice(split + 1)) };
    } catch (err) {
      if (err instanceof CoreError) throw new CliError(err.code, `--witness ${spec.slice(0, split)}: ${err.message}`);
      throw err;
    }
  });
}

async function loadMatcher(path: string | undefined): Promise<IdentityMatcher | undefined> {
  if (!path) return undefined;
  const { default: YAML } = await import('yaml');
  let doc: unknown;
  try {
    doc = YAML.parse(read(path, 'monitor configuration'));
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError('MONITOR_CONFIG_INVALID', `${path} is not valid YAML: ${(err as Error).message}`);
  }
  try {
    return new IdentityMatcher(parseMonitoredValues(doc));
  } catch (err) {
    if (err instanceof CoreError) throw new CliError(err.code, `${path}: ${err.message}`);
    throw err;
  }
}

async function compare(args: string[]): Promise<number> {
  const v = parse(args);
  const states = v.state ?? [];
  if (states.length !== 2) throw new CliError('USAGE', `compare needs exactly two --state files\n${MONITOR_USAGE}`);
  const { monitor } = await import('@sigstack/server');
  const [a, b] = states.map((p) => {
    const s = monitor.readMonitorState(p);
    if (!s) throw new CliError('FILE_UNREADABLE', `no state file at ${p}`);
    return s;
  }) as [NonNullable<ReturnType<typeof monitor.readMonitorState>>, NonNullable<ReturnType<typeof monitor.readMonitorState>>];
  let r;
  if (v.log) {
    const url = v.log.replace(/\/+$/, '');
    r = await reader(v, url, logKey(v, url, Boolean(v.ct)));
  }
  const outcome = await monitor.compareStates(a, b, r);
  process.stdout.write(`${JSON.stringify({ type: outcome.consistent ? 'consistent' : 'alert', ...(outcome.check ? { check: outcome.check } : {}), message: outcome.message, evidence: { a: a.signed, b: b.signed } })}\n`);
  return outcome.consistent ? 0 : 2;
}

export async function monitorCommand(args: string[]): Promise<number> {
  if (args[0] === 'compare') return compare(args.slice(1));
  if (args.includes('--help') || args.includes('-h') || args[0] === 'help') {
    process.stdout.write(`${MONITOR_USAGE}\n`);
    return 0;
  }
  const v = parse(args);
  if (!v.log) throw new CliError('USAGE', `--log is required\n${MONITOR_USAGE}`);
  const states = v.state ?? [];
  if (states.length !== 1) throw new CliError('USAGE', `one --state FILE is required\n${MONITOR_USAGE}`);
  if (v.once && v.interval) throw new CliError('USAGE', '--once and --interval exclude each other');
  const interval = v.interval ? parseInterval(v.interval) : 5 * 60_000;
  const url = v.log.replace(/\/+$/, '');
  const key = logKey(v, url, Boolean(v.ct));
  const matcher = await loadMatcher(v.config);
  const watched = witnesses(v.witness);
  const { monitor } = await import('@sigstack/server');
  const r = await reader(v, url, key);
  const outputs = new monitor.MonitorOutputs({
    ...(v['output-file'] ? { outputFile: v['output-file'] } : {}),
    ...(v.webhook ? { webhook: v.webhook } : {}),
    onWebhookFailure: (message) => process.stderr.write(`sigstack monitor: [WEBHOOK_FAILED] ${message}\n`),
  });
  const metrics = new monitor.MonitorMetrics();
  let metricsServer;
  if (v['metrics-port'] !== undefined) {
    metricsServer = await metrics.serve(Number(v['metrics-port']));
    process.stderr.write(`sigstack monitor: metrics at http://127.0.0.1:${(metricsServer.address() as { port: number }).port}/metrics\n`);
  }
  const runOnce = async () => {
    const result = await monitor.runMonitor({ logUrl: url, reader: r, logKey: key, statePath: states[0] as string, ...(matcher ? { matcher } : {}), witnesses: watched, outputs, metrics });
    await outputs.flush();
    return result;
  };
  if (v.once) {
    const result = await runOnce();
    metricsServer?.close();
    return result.alerts > 0 ? 2 : result.errors > 0 ? 1 : 0;
  }
  let stopped = false;
  const stop = () => {
    stopped = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let alerted = false;
  while (!stopped) {
    const result = await runOnce();
    alerted ||= result.alerts > 0;
    const until = Date.now() + interval;
    while (!stopped && Date.now() < until) await new Promise((res) => setTimeout(res, Math.min(500, until - Date.now())));
  }
  metricsServer?.close();
  return alerted ? 2 : 0;
}
