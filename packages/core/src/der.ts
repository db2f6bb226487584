// DER for the parsers of core (X.509, RFC 3161, SPKI): a small strict TLV reader that builds a
// tree of element positions over the input (no values decoded until asked), typed access to
// children with CoreError on any shape mismatch, raw TLV bytes of an element, and DER encoding
// of a TLV. Only DER is read: definite minimal lengths, minimal tags, no constructed strings.
// (It replaced asn1js here: asn1js builds an object per element and decodes every value up
// front, which was a quarter of a bundle's verification time.)

import { CoreError } from './errors.js';

/** Universal tag numbers used by core's parsers. */
export const UNIVERSAL = {
  BOOLEAN: 1, INTEGER: 2, BIT_STRING: 3, OCTET_STRING: 4, NULL: 5, OID: 6, UTF8_STRING: 12,
  SEQUENCE: 16, SET: 17, UTC_TIME: 23, GENERALIZED_TIME: 24,
} as const;

/** Deepest nesting read (a certificate or timestamp token nests about 12 deep). */
const MAX_DEPTH = 64;

/** One DER element: its tag, where its TLV and content lie in the input, and its children. */
export class AsnNode {
  constructor(
    private readonly input: Uint8Array,
    /** 1 universal, 2 application, 3 context-specific, 4 private (asn1js's numbering). */
    readonly tagClass: number,
    readonly constructed: boolean,
    readonly tagNumber: number,
    readonly start: number,
    readonly contentStart: number,
    readonly end: number,
    readonly children: AsnNode[] | undefined,
  ) {}

  get raw(): Uint8Array {
    return this.input.subarray(this.start, this.end);
  }

  get content(): Uint8Array {
    return this.input.subarray(this.contentStart, this.end);
  }

  isUniversal(tag: number): boolean {
    return this.tagClass === 1 && this.tagNumber === tag;
  }

  /** A summary with every OBJECT IDENTIFIER inside (for callers that look for one by text). */
  toJSON(): unknown {
    if (this.isUniversal(UNIVERSAL.OID) && !this.constructed) return { oid: decodeOid(this.content) };
    return { tag: this.tagNumber, children: this.children?.map((c) => c.toJSON()) };
  }
}

/** The raw bytes (tag, length and value) of the element: a view, not a copy. */
export function rawBytes(node: AsnNode): Uint8Array {
  return node.raw;
}

export function tagOf(node: AsnNode): { cls: number; number: number } {
  return { cls: node.tagClass, number: node.tagNumber };
}

/** Children of a constructed node (SEQUENCE, SET, or constructed context tag). */
export function children(node: AsnNode | undefined, code: string, what: string): AsnNode[] {
  if (!node || !node.children) throw new CoreError(code, `${what}: expected a constructed ASN.1 element`);
  return node.children;
}

/** The node when it is the primitive universal element `tag`, else CoreError. */
export function expectTag(node: AsnNode | undefined, tag: number, code: string, what: string): AsnNode {
  if (!node || node.constructed || !node.isUniversal(tag)) throw new CoreError(code, `${what}: unexpected ASN.1 element`);
  return node;
}

export function isUniversal(node: AsnNode | undefined, tag: number): node is AsnNode {
  return node !== undefined && !node.constructed && node.isUniversal(tag);
}

/** Dotted text of OBJECT IDENTIFIER content octets ('' when empty); undefined when malformed. */
function decodeOid(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return '';
  let text = '';
  let value = 0;
  let big: bigint | undefined; // only for arcs beyond 2^45
  let first = true;
  const last = bytes.length - 1;
  for (let i = 0; i <= last; i++) {
    const b = bytes[i] as number;
    if (big !== undefined) big = (big << 7n) | BigInt(b & 0x7f);
    else {
      value = value * 128 + (b & 0x7f);
      if (value > 2 ** 45) big = BigInt(value);
    }
    if (b & 0x80) {
      if (i === last) return undefined;
      continue;
    }
    if (first) {
      // The first subidentifier holds two arcs: 40 * X + Y, with X in 0..2.
      if (big !== undefined) text = `2.${big - 80n}`;
      else {
        const top = value < 40 ? 0 : value < 80 ? 1 : 2;
        text = `${top}.${value - top * 40}`;
      }
      first = false;
    } else text += `.${big ?? value}`;
    value = 0;
    big = undefined;
  }
  return text;
}

export function oidOf(node: AsnNode | undefined, code: string, what: string): string {
  const oid = decodeOid(expectTag(node, UNIVERSAL.OID, code, what).content);
  if (oid === undefined) throw new CoreError(code, `${what}: malformed OBJECT IDENTIFIER`);
  return oid;
}

/** Content octets of a primitive element (OCTET STRING, INTEGER, implicit tags...). */
export function contentBytes(node: AsnNode | undefined, code: string, what: string): Uint8Array {
  if (!node || node.constructed) throw new CoreError(code, `${what}: expected a primitive ASN.1 element`);
  return node.content;
}

/** A BIT STRING's bits (the octets after its unused-bits count). */
export function bitStringBytes(node: AsnNode | undefined, code: string, what: string): Uint8Array {
  const content = contentBytes(expectTag(node, UNIVERSAL.BIT_STRING, code, what), code, what);
  if (content.length === 0 || (content[0] as number) > 7) throw new CoreError(code, `${what}: malformed BIT STRING`);
  return content.subarray(1);
}

export function isContextTag(node: AsnNode | undefined, tagNumber: number): boolean {
  return node !== undefined && node.tagClass === 3 && node.tagNumber === tagNumber;
}

/** DER encoding of a tag-length-value with a one-byte tag. */
export function encodeTlv(tag: number, content: Uint8Array): Buffer {
  const n = content.byteLength;
  let header: number[];
  if (n < 0x80) header = [tag, n];
  else if (n < 0x100) header = [tag, 0x81, n];
  else if (n < 0x10000) header = [tag, 0x82, n >> 8, n & 0xff];
  else header = [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from(header), content]);
}

// ---------------------------------------------------------------------------------------------
// Strict parsing and typed primitive values

export interface ParseDerOptions {
  /** Parse a private copy of `bytes` (default), or views of `bytes` itself when false. */
  copy?: boolean;
}

class DerReader {
  constructor(
    private readonly input: Uint8Array,
    private readonly code: string,
    private readonly what: string,
  ) {}

  private invalid(problem: string): never {
    throw new CoreError(this.code, `${this.what} is not valid DER: ${problem}`);
  }

  private notDer(problem: string): never {
    throw new CoreError(this.code, `${this.what}: ${problem}`);
  }

  /** Reads one element at `pos`, ending at or before `limit`. */
  element(pos: number, limit: number, depth: number): AsnNode {
    const input = this.input;
    if (depth > MAX_DEPTH) this.invalid(`nested deeper than ${MAX_DEPTH} levels`);
    if (pos >= limit) this.invalid('end of input reached before an element');
    const id = input[pos] as number;
    const tagClass = (id >> 6) + 1;
    const constructed = (id & 0x20) !== 0;
    let tagNumber = id & 0x1f;
    let p = pos + 1;
    if (tagNumber === 0x1f) {
      tagNumber = 0;
      let octets = 0;
      for (;;) {
        if (p >= limit) this.invalid('end of input inside a tag');
        const b = input[p++] as number;
        if (octets === 0 && b === 0x80) this.notDer('non-minimal tag encoding');
        tagNumber = tagNumber * 128 + (b & 0x7f);
        if (++octets > 4) this.notDer('tag number too large');
        if (!(b & 0x80)) break;
      }
      if (tagNumber < 31) this.notDer('non-minimal tag encoding');
    }
    if (p >= limit) this.invalid('end of input before a length');
    const first = input[p++] as number;
    let length: number;
    if (first < 0x80) length = first;
    else if (first === 0x80) this.notDer('indefinite length (BER) is not allowed in DER');
    else {
      const n = first & 0x7f;
      if (n > 4) this.invalid('length too large');
      if (p + n > limit) this.invalid('end of input inside a length');
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + (input[p++] as number);
      if (length < 0x80 || input[p - n] === 0) this.notDer('non-minimal length encoding');
    }
    const contentStart = p;
    const end = contentStart + length!;
    if (end > limit) this.invalid('end of input reached before the element was fully decoded');
    let kids: AsnNode[] | undefined;
    if (constructed) {
      if (tagClass === 1 && tagNumber !== UNIVERSAL.SEQUENCE && tagNumber !== UNIVERSAL.SET) {
        this.notDer('constructed encoding of a primitive type (BER) is not allowed in DER');
      }
      kids = [];
      for (let at = contentStart; at < end; ) {
        const child = this.element(at, end, depth + 1);
        kids.push(child);
        at = child.end;
      }
    }
    return new AsnNode(input, tagClass, constructed, tagNumber, pos, contentStart, end, kids);
  }
}

/**
 * Parses DER bytes: the whole input must be exactly one element, every element must be DER
 * (definite minimal lengths, minimal tags, no constructed universal strings), OCTET STRING /
 * BIT STRING contents are not decoded speculatively; problems are CoreError with `code`.
 */
export function parseDer(bytes: Uint8Array, code: string, what: string, options: ParseDerOptions = {}): AsnNode {
  if (bytes.byteLength === 0) throw new CoreError(code, `${what}: no data`);
  const input = options.copy === false ? bytes : new Uint8Array(bytes);
  const top = new DerReader(input, code, what).element(0, input.byteLength, 0);
  if (top.end !== input.byteLength) {
    throw new CoreError(code, `${what}: ${input.byteLength - top.end} trailing bytes after the DER`);
  }
  return top;
}

/** An INTEGER's content octets (two's complement, as encoded); never empty. */
export function integerBytes(node: AsnNode | undefined, code: string, what: string): Uint8Array {
  const bytes = contentBytes(expectTag(node, UNIVERSAL.INTEGER, code, what), code, what);
  if (bytes.byteLength === 0) throw new CoreError(code, `${what}: empty INTEGER`);
  return bytes;
}

/** An INTEGER that fits in 32 bits, as a number. */
export function smallInteger(node: AsnNode | undefined, code: string, what: string): number {
  const bytes = integerBytes(node, code, what);
  if (bytes.byteLength > 4) throw new CoreError(code, `${what}: INTEGER out of range`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readIntBE(0, bytes.byteLength);
}

/** A DER BOOLEAN: one octet, 0x00 or 0xFF. */
export function booleanOf(node: AsnNode | undefined, code: string, what: string): boolean {
  const bytes = contentBytes(expectTag(node, UNIVERSAL.BOOLEAN, code, what), code, what);
  if (bytes.byteLength !== 1 || (bytes[0] !== 0x00 && bytes[0] !== 0xff)) {
    throw new CoreError(code, `${what}: BOOLEAN must be one octet, 0x00 or 0xFF`);
  }
  return bytes[0] === 0xff;
}

const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?Z$/;

/**
 * A GeneralizedTime as RFC 5280 / RFC 3161 profile it: YYYYMMDDhhmmss[.f...]Z in UTC, read from
 * the encoded text (asn1js's own reading accepts more forms). Fractions finer than a millisecond
 * are truncated.
 */
export function generalizedTimeOf(node: AsnNode | undefined, code: string, what: string): Date {
  const bytes = contentBytes(expectTag(node, UNIVERSAL.GENERALIZED_TIME, code, what), code, what);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const m = GENERALIZED_TIME.exec(text);
  if (!m) throw new CoreError(code, `${what}: GeneralizedTime "${text.slice(0, 40)}" is not YYYYMMDDhhmmss[.fff]Z`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number, number, number, number, number, number,
  ];
  const millis = m[7] ? Number(m[7].padEnd(3, '0').slice(0, 3)) : 0;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis));
  if (
    month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59 ||
    date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day
  ) {
    throw new CoreError(code, `${what}: GeneralizedTime "${text}" is not a valid date`);
  }
  return date;
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

/** A certificate validity time: UTCTime (YYMMDDhhmmssZ, 50–99 → 19xx) or GeneralizedTime. */
export function timeOf(node: AsnNode | undefined, code: string, what: string): Date {
  if (isUniversal(node, UNIVERSAL.GENERALIZED_TIME)) return generalizedTimeOf(node, code, what);
  const bytes = contentBytes(expectTag(node, UNIVERSAL.UTC_TIME, code, what), code, what);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const m = UTC_TIME.exec(text);
  if (!m) throw new CoreError(code, `${what}: UTCTime "${text.slice(0, 40)}" is not YYMMDDhhmmssZ`);
  const [yy, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const year = yy >= 50 ? 1900 + yy : 2000 + yy;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59 || date.getUTCDate() !== day || date.getUTCMonth() !== month - 1) {
    throw new CoreError(code, `${what}: UTCTime "${text}" is not a valid date`);
  }
  return date;
}

// Universal string types and how their content octets are text.
const STRING_ENCODINGS: Record<number, 'utf8' | 'latin1' | 'utf16be' | 'utf32be'> = {
  12: 'utf8', 18: 'latin1', 19: 'latin1', 20: 'latin1', 21: 'latin1', 22: 'latin1', 25: 'latin1', 26: 'latin1', 27: 'latin1',
  28: 'utf32be', 30: 'utf16be',
};

/** The text of an ASN.1 string element (UTF8String, PrintableString, IA5String, BMPString...). */
export function stringOf(node: AsnNode | undefined, code: string, what: string): string {
  const encoding = node && node.tagClass === 1 && !node.constructed ? STRING_ENCODINGS[node.tagNumber] : undefined;
  if (!node || !encoding) throw new CoreError(code, `${what}: expected an ASN.1 string`);
  const bytes = Buffer.from(node.content.buffer, node.content.byteOffset, node.content.byteLength);
  if (encoding === 'utf8' || encoding === 'latin1') return bytes.toString(encoding);
  const width = encoding === 'utf16be' ? 2 : 4;
  if (bytes.length % width !== 0) throw new CoreError(code, `${what}: malformed ${encoding === 'utf16be' ? 'BMPString' : 'UniversalString'}`);
  let text = '';
  for (let i = 0; i < bytes.length; i += width) {
    const point = width === 2 ? bytes.readUInt16BE(i) : bytes.readUInt32BE(i);
    if (point > 0x10ffff) throw new CoreError(code, `${what}: malformed UniversalString`);
    text += width === 2 ? String.fromCharCode(point) : String.fromCodePoint(point);
  }
  return text;
}
