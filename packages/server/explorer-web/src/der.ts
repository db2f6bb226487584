// A small DER reader for the page (certificates only): tag-length-value nodes, their children,
// and the few value types X.509 uses (OIDs, strings, times). Malformed input throws.

import { fromUtf8 } from './bytes.js';

export interface Der {
  /** The identifier octet (class, constructed bit, tag number < 31). */
  tag: number;
  /** The contents octets. */
  value: Uint8Array;
  /** The whole encoding. */
  raw: Uint8Array;
}

export function readDer(bytes: Uint8Array, offset = 0): Der {
  const tag = bytes[offset];
  if (tag === undefined || (tag & 0x1f) === 0x1f) throw new Error('unsupported or missing DER tag');
  let length = bytes[offset + 1];
  if (length === undefined) throw new Error('truncated DER length');
  let at = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new Error('unsupported DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[at++] ?? NaN);
  }
  if (!Number.isFinite(length) || at + length > bytes.length) throw new Error('truncated DER value');
  return { tag, value: bytes.subarray(at, at + length), raw: bytes.subarray(offset, at + length) };
}

export function children(node: Der): Der[] {
  const out: Der[] = [];
  for (let at = 0; at < node.value.length; ) {
    const child = readDer(node.value, at);
    out.push(child);
    at += child.raw.length;
  }
  return out;
}

export function oid(node: Der): string {
  const v = node.value;
  if (v.length === 0) throw new Error('empty OID');
  const arcs: number[] = [];
  let n = 0;
  for (const b of v) {
    n = n * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(n);
      n = 0;
    }
  }
  const first = arcs.shift()!;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...arcs].join('.');
}

/** A string type's text (UTF8String, PrintableString, IA5String, BMPString...). */
export function text(node: Der): string {
  if (node.tag === 0x1e) {
    let out = '';
    for (let i = 0; i + 1 < node.value.length; i += 2) out += String.fromCharCode((node.value[i]! << 8) | node.value[i + 1]!);
    return out;
  }
  return fromUtf8(node.value);
}

/** UTCTime or GeneralizedTime as a Date. */
export function time(node: Der): Date {
  const s = fromUtf8(node.value);
  const m = node.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/.exec(s) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.\d+)?Z$/.exec(s);
  if (!m) throw new Error(`unsupported time ${s}`);
  let year = Number(m[1]);
  if (node.tag === 0x17) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)));
}
