// Typed readers for fields of untrusted JSON documents (bundles, trusted roots, configs):
// each throws a CoreError naming the field path and what was expected.

import { CoreError } from './errors.js';
import { base64Decode } from './encoding.js';

export type JsonObject = Record<string, unknown>;

export class FieldReader {
  constructor(readonly code: string) {}

  fail(path: string, expected: string): never {
    throw new CoreError(this.code, `${path} ${expected}`);
  }

  object(value: unknown, path: string): JsonObject {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, 'must be a JSON object');
    return value as JsonObject;
  }

  optionalObject(value: unknown, path: string): JsonObject | undefined {
    return value === undefined || value === null ? undefined : this.object(value, path);
  }

  array(value: unknown, path: string): unknown[] {
    if (!Array.isArray(value)) this.fail(path, 'must be a JSON array');
    return value;
  }

  optionalArray(value: unknown, path: string): unknown[] {
    return value === undefined || value === null ? [] : this.array(value, path);
  }

  string(value: unknown, path: string): string {
    if (typeof value !== 'string') this.fail(path, 'must be a string');
    return value;
  }

  nonEmptyString(value: unknown, path: string): string {
    const text = this.string(value, path);
    if (text.length === 0) this.fail(path, 'must not be empty');
    return text;
  }

  /** Base64 bytes (protobuf JSON `bytes`), non-empty unless allowEmpty. */
  bytes(value: unknown, path: string, allowEmpty = false): Buffer {
    const text = this.string(value, path);
    let bytes: Buffer;
    try {
      bytes = base64Decode(text, path);
    } catch {
      this.fail(path, 'is not valid base64');
    }
    if (!allowEmpty && bytes.length === 0) this.fail(path, 'must not be empty');
    return bytes;
  }

  /** A protobuf JSON int64: a decimal string (or a JSON number), as a safe integer. */
  integer(value: unknown, path: string): number {
    const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : undefined;
    if (text === undefined || !/^-?\d+$/.test(text)) this.fail(path, 'must be an integer');
    const n = Number(text);
    if (!Number.isSafeInteger(n)) this.fail(path, 'is out of range');
    return n;
  }

  /** An RFC 3339 timestamp (protobuf JSON Timestamp). */
  date(value: unknown, path: string): Date {
    const text = this.string(value, path);
    const date = new Date(text);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(text) || Number.isNaN(date.getTime())) {
      this.fail(path, 'must be an RFC 3339 timestamp');
    }
    return date;
  }
}
