// `sigstack witness serve|generate-key`: a C2SP tlog-witness that cosigns checkpoints of the
// logs it is told to trust, keeping its key and state in --dir.

import { parseArgs } from 'node:util';
import { CliError } from '../errors.js';
import { stopSignal } from '../stop-signal.js';

export const WITNESS_USAGE = `usage: sigstack witness serve --dir D --name NAME --log ORIGIN=VKEY [--log ORIGIN=VKEY ...] [--port P] [--host H] [--ml-dsa]
       sigstack witness generate-key --dir D --name NAME [--ml-dsa]

  serve: POST /add-checkpoint (c2sp.org/tlog-witness) and GET /<sha256 hex of origin>/checkpoint.
  ORIGIN is the log's checkpoint origin line, VKEY its verifier key (name+keyid+base64). The
  witness key (Ed25519 cosignatures, vkey type 0x04) and its state live in D; on start it prints
  its verifier key for logs and verifiers. generate-key makes the key in D and prints the vkey.
  --ml-dsa also cosigns with ML-DSA-44 (vkey type 0x06, the key tlog-cosignature recommends for
  new witnesses): a second vkey line is printed.`;

function values(args: string[]) {
  try {
    return parseArgs({
      args,
      options: { dir: { type: 'string' }, name: { type: 'string' }, log: { type: 'string', multiple: true }, port: { type: 'string' }, host: { type: 'string' }, 'ml-dsa': { type: 'boolean' } },
    }).values;
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message}\n${WITNESS_USAGE}`);
  }
}

export async function witnessCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'serve' && sub !== 'generate-key') {
    process.stdout.write(`${WITNESS_USAGE}\n`);
    return sub === undefined || sub === 'help' || sub === '--help' ? 0 : 2;
  }
  const v = values(rest);
  if (!v.dir) throw new CliError('USAGE', `--dir is required\n${WITNESS_USAGE}`);
  if (!v.name) throw new CliError('USAGE', `--name is required (the witness's key name, e.g. witness.example/w1)\n${WITNESS_USAGE}`);
  const { witness, keys } = await import('@sigstack/server');
  if (sub === 'generate-key') {
    const { join } = await import('node:path');
    const { formatCosignerVkey } = await import('@sigstack/core');
    const { mkdirSync } = await import('node:fs');
    const { formatMldsaCosignerVkey } = await import('@sigstack/core');
    mkdirSync(v.dir, { recursive: true, mode: 0o700 });
    const key = keys.loadOrCreateKey(join(v.dir, 'witness-key.pem'), 'ed25519');
    process.stdout.write(`${formatCosignerVkey(v.name, key.publicKey)}\n`);
    if (v['ml-dsa']) process.stdout.write(`${formatMldsaCosignerVkey(v.name, witness.loadOrCreateMldsaKeys(join(v.dir, 'witness-mldsa44.seed')).publicKey)}\n`);
    return 0;
  }
  if (!v.log || v.log.length === 0) throw new CliError('USAGE', `at least one --log ORIGIN=VKEY is required\n${WITNESS_USAGE}`);
  const port = v.port === undefined ? 3002 : Number(v.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError('USAGE', '--port must be 0..65535');
  const service = await witness.startWitnessService({ dir: v.dir, name: v.name, logs: v.log, port, ...(v.host ? { host: v.host } : {}), ...(v['ml-dsa'] ? { mldsa: true } : {}), logger: { level: 'warn', stream: process.stderr } });
  process.stdout.write(`${service.vkey}\n${service.mldsaVkey ? `${service.mldsaVkey}\n` : ''}`);
  process.stderr.write(`sigstack witness: serving at ${service.url} (POST /add-checkpoint, GET /<origin hash>/checkpoint) for ${service.witness.origins().length} log(s)\n`);
  await stopSignal();
  await service.close();
  return 0;
}
