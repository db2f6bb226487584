// Small helpers over asn1js's parsed DER trees: typed access to children with CoreError on
// any shape mismatch, raw TLV bytes of a parsed element, and DER length/TLV encoding.

import * as asn1js from 'asn1js';
import { CoreError } from './errors.js';

export type AsnNode = asn1js.AsnType;

/** The raw bytes (tag, length and value) the node was decoded from: a view, not a copy. */
export function rawBytes(node: AsnNode): Uint8Array {
  return (node as asn1js.BaseBlock).valueBeforeDecodeView;
}

export function tagOf(node: AsnNode): { cls: number; number: number } {
  const id = (node as asn1js.BaseBlock).idBlock;
  return { cls: id.tagClass, number: id.tagNumber };
}

/** Children of a constructed node (SEQUENCE, SET, or constructed context tag). */
export function children(node: AsnNode | undefined, code: string, what: string): AsnNode[] {
  const value = (node as asn1js.Constructed | undefined)?.valueBlock?.value;
  if (!node || !Array.isArray(value) || !(node as asn1js.BaseBlock).idBlock.isConstructed) {
    throw new CoreError(code, `${what}: expected a constructed ASN.1 element`);
  }
  return value as AsnNode[];
}

export function expectType<T>(node: AsnNode | undefined, type: abstract new (...args: never[]) => T, code: string, what: string): T {
  if (!(node instanceof type)) throw new CoreError(code, `${what}: unexpected ASN.1 element`);
  return node;
}

export function oidOf(node: AsnNode | undefined, code: string, what: string): string {
  return expectType(node, asn1js.ObjectIdentifier, code, what).getValue();
}

/** Content octets of a primitive element (OCTET STRING, INTEGER, implicit tags...). */
export function contentBytes(node: AsnNode | undefined, code: string, what: string): Uint8Array {
  const block = node as asn1js.BaseBlock | undefined;
  if (!block || block.idBlock.isConstructed) throw new CoreError(code, `${what}: expected a primitive ASN.1 element`);
  return (block as unknown as { valueBlock: { valueHexView: Uint8Array } }).valueBlock.valueHexView;
}

export function isContextTag(node: AsnNode | undefined, tagNumber: number): boolean {
  const id = (node as asn1js.BaseBlock | undefined)?.idBlock;
  return id !== undefined && id.tagClass === 3 && id.tagNumber === tagNumber;
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
// Strict parsing and typed primitive values (used by rfc3161.ts)

/** Length octets a definite length needs in DER (minimal form). */
function derLengthOctets(length: number): number {
  if (length < 0x80) return 1;
  let n = 1;
  for (let v = length; v > 0; v = Math.floor(v / 256)) n++;
  return n;
}

/** Identifier octets a tag number needs in DER (low form below 31, else minimal base-128). */
function derIdentifierOctets(tagNumber: number): number {
  if (tagNumber < 31) return 1;
  let n = 1;
  for (let v = tagNumber; v > 0; v = Math.floor(v / 128)) n++;
  return n;
}

/**
 * Throws unless every element of the tree uses DER's encoding rules as asn1js records them:
 * definite lengths in minimal form, minimal tag numbers, and no constructed (BER) strings.
 */
export function assertDerEncoding(node: AsnNode, code: string, what: string): void {
  const block = node as asn1js.BaseBlock;
  const id = block.idBlock;
  const len = block.lenBlock;
  if (len.isIndefiniteForm) throw new CoreError(code, `${what}: indefinite length (BER) is not allowed in DER`);
  if (len.blockLength !== derLengthOctets(len.length)) throw new CoreError(code, `${what}: non-minimal length encoding`);
  if (id.isHexOnly || id.blockLength > 5) throw new CoreError(code, `${what}: tag number too large`);
  if (id.blockLength !== derIdentifierOctets(id.tagNumber)) throw new CoreError(code, `${what}: non-minimal tag encoding`);
  if (!id.isConstructed) return;
  if (id.tagClass === 1 && id.tagNumber !== 16 && id.tagNumber !== 17) {
    throw new CoreError(code, `${what}: constructed encoding of a primitive type (BER) is not allowed in DER`);
  }
  const value = (block as asn1js.Constructed).valueBlock.value;
  if (Array.isArray(value)) for (const child of value) assertDerEncoding(child, code, what);
}

export interface ParseDerOptions {
  /** Parse a private copy of `bytes` (default), or views of `bytes` itself when false. */
  copy?: boolean;
  /**
   * Problem to report when asn1js throws instead of returning an error (it does so for a
   * GeneralizedTime whose text it cannot read); by default its own message.
   */
  unreadable?: string;
}

/**
 * Parses DER bytes with asn1js: the whole input must be exactly one element, every element must
 * be DER (assertDerEncoding), OCTET STRING / BIT STRING contents are not decoded speculatively,
 * and exceptions from asn1js become CoreError with `code`.
 */
export function parseDer(bytes: Uint8Array, code: string, what: string, options: ParseDerOptions = {}): AsnNode {
  if (bytes.byteLength === 0) throw new CoreError(code, `${what}: no data`);
  let parsed: asn1js.FromBerResult;
  try {
    parsed = asn1js.fromBER(bytes, { parseEmbedded: false, copyInput: options.copy !== false });
  } catch (err) {
    const problem = options.unreadable ?? `a value could not be decoded (${(err as Error)?.message ?? String(err)})`;
    throw new CoreError(code, `${what}: ${problem}`, { cause: err });
  }
  if (parsed.offset === -1) {
    throw new CoreError(code, `${what} is not valid DER${parsed.result.error ? `: ${parsed.result.error}` : ''}`);
  }
  if (parsed.offset !== bytes.byteLength) {
    throw new CoreError(code, `${what}: ${bytes.byteLength - parsed.offset} trailing bytes after the DER`);
  }
  assertDerEncoding(parsed.result, code, what);
  return parsed.result;
}

/** An INTEGER's content octets (two's complement, as encoded); never empty. */
export function integerBytes(node: AsnNode | undefined, code: string, what: string): Uint8Array {
  const bytes = contentBytes(expectType(node, asn1js.Integer, code, what), code, what);
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
  const bytes = contentBytes(expectType(node, asn1js.Boolean, code, what), code, what);
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
  const bytes = contentBytes(expectType(node, asn1js.GeneralizedTime, code, what), code, what);
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
