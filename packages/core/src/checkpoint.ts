// C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the note text a transparency log signs —
// origin line, decimal tree size, base64 root hash, then optional extension lines.

import { CoreError } from './errors.js';
import { base64Decode, base64Encode } from './encoding.js';

export interface Checkpoint {
  /** The log's identity, e.g. "rekor.sigstore.dev - 1193050959916656506". */
  origin: string;
  /** Number of leaves in the tree (a safe integer). */
  size: number;
  /** RFC 6962 root hash of the tree at `size` (32 bytes). */
  rootHash: Buffer;
  /** Opaque extension lines after the root hash (Rekor v1 writes e.g. "Timestamp: ..."). */
  extensions: string[];
}

export interface CheckpointInput {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  extensions?: string[];
}

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const CONTROL = /[\u0000-\u0009\u000b-\u001f]/;

function malformed(message: string): CoreError {
  return new CoreError('CHECKPOINT_MALFORMED', message);
}

function parseSize(line: string): number {
  if (!DECIMAL.test(line)) {
    throw malformed(
      `checkpoint tree size line ${JSON.stringify(line)} is not a decimal number without leading zeros`,
    );
  }
  const size = Number(line);
  if (!Number.isSafeInteger(size)) {
    throw malformed(`checkpoint tree size ${line} is larger than this implementation supports (2^53 - 1)`);
  }
  return size;
}

function parseRootHash(line: string): Buffer {
  if (!STD_BASE64.test(line)) {
    throw malformed(`checkpoint root hash line ${JSON.stringify(line)} is not standard base64`);
  }
  const hash = base64Decode(line, 'checkpoint root hash');
  if (hash.length !== 32) {
    throw malformed(`checkpoint root hash is ${hash.length} bytes; a SHA-256 root hash is 32`);
  }
  return hash;
}

/**
 * Parses checkpoint note text (the body of a signed note, ending in a newline). Throws
 * CHECKPOINT_MALFORMED naming the missing or bad line.
 */
export function parseCheckpoint(body: string): Checkpoint {
  if (typeof body !== 'string') throw malformed('checkpoint must be a string');
  if (body.length === 0) throw malformed('checkpoint is empty: missing origin line');
  if (!body.endsWith('\n')) throw malformed('checkpoint text must end with a newline');
  const control = CONTROL.exec(body);
  if (control) {
    throw malformed(`checkpoint contains a control character at offset ${control.index}`);
  }
  const lines = body.slice(0, -1).split('\n');
  const origin = lines[0] as string;
  if (origin.length === 0) throw malformed('checkpoint is missing its origin line (the first line is empty)');
  if (lines.length < 2 || lines[1] === '') {
    throw malformed('checkpoint is missing its tree size line (second line)');
  }
  if (lines.length < 3) {
    // Two lines: say which line is absent rather than blaming the wrong one.
    if (DECIMAL.test(origin) && STD_BASE64.test(lines[1] as string)) {
      throw malformed(
        `checkpoint is missing its origin line: it starts with a tree size (${origin}) and a root hash`,
      );
    }
    if (!DECIMAL.test(lines[1] as string)) {
      throw malformed(
        `checkpoint is missing its tree size line: second line ${JSON.stringify(lines[1])} is not a tree size`,
      );
    }
    throw malformed('checkpoint is missing its root hash line (third line)');
  }
  const size = parseSize(lines[1] as string);
  if (lines[2] === '') throw malformed('checkpoint is missing its root hash line (third line is empty)');
  const rootHash = parseRootHash(lines[2] as string);
  const extensions = lines.slice(3);
  extensions.forEach((line, i) => {
    if (line === '') throw malformed(`checkpoint extension line ${i + 1} is empty`);
  });
  return { origin, size, rootHash, extensions };
}

/** Formats checkpoint note text: origin, size, base64 root hash, extension lines, each ending in "\n". */
export function formatCheckpoint(checkpoint: CheckpointInput): string {
  const { origin, size, rootHash, extensions = [] } = checkpoint ?? ({} as CheckpointInput);
  if (typeof origin !== 'string' || origin.length === 0) throw malformed('checkpoint origin must be a non-empty string');
  if (origin.includes('\n') || CONTROL.test(origin)) {
    throw malformed('checkpoint origin must be one line without control characters');
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw malformed(`checkpoint size must be a non-negative safe integer, got ${String(size)}`);
  }
  if (!(rootHash instanceof Uint8Array) || rootHash.length !== 32) {
    throw malformed('checkpoint root hash must be 32 bytes');
  }
  if (!Array.isArray(extensions)) throw malformed('checkpoint extensions must be an array of lines');
  extensions.forEach((line, i) => {
    if (typeof line !== 'string' || line.length === 0 || line.includes('\n') || CONTROL.test(line)) {
      throw malformed(`checkpoint extension ${i + 1} must be a non-empty single line`);
    }
  });
  return [origin, String(size), base64Encode(rootHash), ...extensions].map((l) => `${l}\n`).join('');
}
