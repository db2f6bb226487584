// RFC 8785 JSON Canonicalization Scheme (JCS): one exact text for a JSON value, so it can be
// hashed or signed. Object keys sorted by UTF-16 code units, ECMAScript number serialization.

import { CoreError } from './errors.js';

const CODE = 'JSON_NOT_CANONICALIZABLE';

// A UTF-16 surrogate that is not part of a pair. RFC 8785 §3.2.2.2 requires rejecting these.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// String.prototype.isWellFormed (ES2024, Node ≥ 20) where present: native, no regex scan.
const nativeWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;
function isWellFormed(value: string): boolean {
  return nativeWellFormed ? nativeWellFormed.call(value) : !LONE_SURROGATE.test(value);
}

function fail(path: string, message: string): never {
  throw new CoreError(CODE, `${path}: ${message}`);
}

function serializeString(value: string, path: string): string {
  if (!isWellFormed(value)) fail(path, 'string contains a lone UTF-16 surrogate (invalid Unicode)');
  // RFC 8785 §3.2.2.2: escape '"' and '\\', use \b \t \n \f \r, other controls as lowercase
  // \u00xx, and everything else (including U+007F and above) as is. ES2019+ JSON.stringify of a
  // well-formed string does exactly this.
  return JSON.stringify(value);
}

function serializeNumber(value: number, path: string): string {
  if (!Number.isFinite(value)) fail(path, `${String(value)} is not a JSON number`);
  // RFC 8785 §3.2.2.3: ECMAScript Number.prototype.toString (-0 becomes "0").
  return String(value);
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function serialize(value: unknown, path: string, active: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return serializeString(value, path);
    case 'number':
      return serializeNumber(value, path);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return fail(path, 'undefined is not a JSON value');
    case 'bigint':
      return fail(path, 'bigint is not a JSON value (convert it to a number or string first)');
    case 'function':
    case 'symbol':
      return fail(path, `a ${typeof value} is not a JSON value`);
    default:
      break;
  }
  if (value === null) return 'null';
  const obj = value as object;
  if (active.has(obj)) fail(path, 'value contains a cycle');
  active.add(obj);
  try {
    if (Array.isArray(obj)) {
      const parts: string[] = [];
      for (let i = 0; i < obj.length; i++) {
        // Holes in sparse arrays read as undefined and are rejected like undefined.
        parts.push(serialize(obj[i], `${path}[${i}]`, active));
      }
      return `[${parts.join(',')}]`;
    }
    if (!isPlainObject(obj)) {
      const kind = (obj as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      fail(path, `${kind} is not a plain JSON object`);
    }
    if (Object.getOwnPropertySymbols(obj).length > 0) fail(path, 'object has symbol keys');
    // Default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 requires.
    const keys = Object.keys(obj).sort();
    const parts = keys.map((key) => {
      const keyPath = `${path}.${key}`;
      const keyText = serializeString(key, keyPath);
      return `${keyText}:${serialize((obj as Record<string, unknown>)[key], keyPath, active)}`;
    });
    return `{${parts.join(',')}}`;
  } finally {
    active.delete(obj);
  }
}

/**
 * Returns the RFC 8785 canonical JSON text of `value`. Throws JSON_NOT_CANONICALIZABLE for
 * anything that is not JSON data: NaN / Infinity, undefined, functions, symbols, bigints,
 * non-plain objects (Date, Map, Buffer, class instances), cycles, and lone surrogates.
 */
export function canonicalize(value: unknown): string {
  try {
    return serialize(value, '$', new Set());
  } catch (err) {
    if (err instanceof RangeError) {
      throw new CoreError(CODE, '$: value is nested too deeply (or too large) to canonicalize', { cause: err });
    }
    throw err;
  }
}
