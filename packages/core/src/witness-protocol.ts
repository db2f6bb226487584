// C2SP tlog-witness (c2sp.org/tlog-witness) message formats: the add-checkpoint request body
// ("old <size>\n", up to 63 base64 proof lines, a blank line, the signed checkpoint), the 409
// answer's "<size>\n" body, and the origin hash of the monitoring read path.

import { createHash } from 'node:crypto';
import { CoreError } from './errors.js';
import { base64Decode, base64Encode } from './encoding.js';

/** Most consistency proof lines a client may send. */
export const MAX_WITNESS_PROOF_LINES = 63;
export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';

export interface AddCheckpointRequest {
  oldSize: number;
  proof: Buffer[];
  /** The signed checkpoint note as sent (text and signature lines). */
  checkpoint: string;
}

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const B64_HASH = /^[A-Za-z0-9+/]{43}=$/;

function malformed(message: string): CoreError {
  return new CoreError('WITNESS_REQUEST_MALFORMED', message);
}

/** Parses an add-checkpoint body. Too many proof lines is reported with code WITNESS_PROOF_TOO_LONG. */
export function parseAddCheckpointRequest(body: string): AddCheckpointRequest {
  if (typeof body !== 'string') throw malformed('the request body must be text');
  const blank = body.indexOf('\n\n');
  if (blank < 0) throw malformed('the request needs an "old <size>" line, proof lines, a blank line and the checkpoint');
  const lines = body.slice(0, blank).split('\n');
  const first = lines[0] as string;
  const m = /^old (\S+)$/.exec(first);
  if (!m || !DECIMAL.test(m[1] as string)) throw malformed(`the first line must be "old <decimal size>", got ${JSON.stringify(first.slice(0, 40))}`);
  const oldSize = Number(m[1]);
  if (!Number.isSafeInteger(oldSize)) throw malformed('old size is too large');
  const proofLines = lines.slice(1);
  if (proofLines.length > MAX_WITNESS_PROOF_LINES) {
    throw new CoreError('WITNESS_PROOF_TOO_LONG', `the consistency proof has ${proofLines.length} lines; at most ${MAX_WITNESS_PROOF_LINES} are allowed`);
  }
  const proof = proofLines.map((line, i) => {
    if (!B64_HASH.test(line)) throw malformed(`proof line ${i + 1} is not a base64 SHA-256 hash`);
    return base64Decode(line, `proof line ${i + 1}`);
  });
  return { oldSize, proof, checkpoint: body.slice(blank + 2) };
}

export function formatAddCheckpointRequest(oldSize: number, proof: readonly Uint8Array[], signedCheckpoint: string): string {
  return `old ${oldSize}\n${proof.map((h) => `${base64Encode(h)}\n`).join('')}\n${signedCheckpoint}`;
}

/** The size in a 409 answer's `text/x.tlog.size` body. */
export function parseTlogSize(body: string): number {
  const m = /^(0|[1-9][0-9]*)\n$/.exec(body);
  if (!m || !Number.isSafeInteger(Number(m[1]))) throw new CoreError('WITNESS_RESPONSE_MALFORMED', `a 409 body must be "<decimal size>\\n", got ${JSON.stringify(body.slice(0, 40))}`);
  return Number(m[1]);
}

/** Lowercase hex SHA-256 of a log origin: the witness monitoring read is GET /<hash>/checkpoint. */
export function originHash(origin: string): string {
  return createHash('sha256').update(origin, 'utf8').digest('hex');
}
