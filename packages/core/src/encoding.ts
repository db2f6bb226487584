// Byte encodings used across sigstore documents: strict base64, hex, PEM <-> DER, and
// constant-time-free byte comparison helpers (all inputs here are public data).

import { CoreError } from './errors.js';

/** Decodes standard or URL-safe base64, rejecting stray characters instead of skipping them. */
export function base64Decode(text: string, what = 'value'): Buffer {
  if (typeof text !== 'string') {
    throw new CoreError('BASE64_INVALID', `${what} must be a base64 string`);
  }
  // Node's decoder skips characters outside the alphabet, so a decoded length short of what
  // the text's length implies reveals them without a regular expression over large inputs.
  const decoded = Buffer.from(text, 'base64');
  // Whitespace (as in PEM bodies) is allowed; look for it only when the quick check fails.
  const compact = expectedLength(text) === decoded.length && text.length % 4 !== 1 ? text : text.replace(/\s+/g, '');
  const unpadded = unpaddedLength(compact);
  const firstPad = compact.indexOf('=');
  const padInside = firstPad !== -1 && firstPad < unpadded;
  if (compact.length % 4 === 1 || padInside || decoded.length !== expectedLength(compact)) {
    throw new CoreError('BASE64_INVALID', `${what} is not valid base64`);
  }
  return decoded;
}

function unpaddedLength(text: string): number {
  return text.endsWith('==') ? text.length - 2 : text.endsWith('=') ? text.length - 1 : text.length;
}

/** The byte length that base64 text of this length decodes to when every character is valid. */
function expectedLength(text: string): number {
  return Math.floor((unpaddedLength(text) * 3) / 4);
}

export function base64Encode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function hexDecode(text: string, what = 'value'): Buffer {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new CoreError('HEX_INVALID', `${what} is not valid hex`);
  }
  return Buffer.from(text, 'hex');
}

export function hexEncode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export interface PemBlock {
  label: string;
  der: Buffer;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every PEM block in `text`, in order. Throws PEM_INVALID when there is none. */
export function pemDecodeAll(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const label = match[1] as string;
    blocks.push({ label, der: base64Decode(match[2] as string, `PEM ${label} block`) });
  }
  if (blocks.length === 0) {
    throw new CoreError('PEM_INVALID', 'no PEM block found (expected -----BEGIN ...----- lines)');
  }
  return blocks;
}

export function pemEncode(label: string, der: Uint8Array): string {
  const text = base64Encode(der);
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += 64) lines.push(text.slice(i, i + 64));
  const body = lines.join('\n');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}
