// A bounds-checked reader of TLS presentation-language bytes (RFC 8446 §3: big-endian integers,
// length-prefixed opaque vectors), as SCTs and RFC 6962 structures use. Each caller says what a
// malformed input is, so its error keeps the caller's code.

export class TlsReader {
  private offset = 0;

  /** `malformed(detail)` makes the error thrown for truncated or trailing bytes. */
  constructor(
    private readonly bytes: Buffer,
    private readonly malformed: (detail: string) => Error,
  ) {}

  take(n: number): Buffer {
    if (this.offset + n > this.bytes.length) throw this.malformed('it is truncated');
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  u8(): number {
    return this.take(1).readUInt8(0);
  }

  u16(): number {
    return this.take(2).readUInt16BE(0);
  }

  u24(): number {
    return this.take(3).readUIntBE(0, 3);
  }

  u64(): bigint {
    return this.take(8).readBigUInt64BE(0);
  }

  opaque16(): Buffer {
    return this.take(this.u16());
  }

  opaque24(): Buffer {
    return this.take(this.u24());
  }

  get done(): boolean {
    return this.offset === this.bytes.length;
  }

  /** Throws unless every byte was read. */
  end(): void {
    if (!this.done) throw this.malformed('it has trailing bytes');
  }
}
