// Rekor's pluggable PKI: one module per public key format (x509, pgp, minisign, ssh), each
// parsing keys and signatures in that format and verifying. Entry kinds (rekord, hashedrekord,
// intoto, dsse...) use formats only through this interface and the registry in index.ts.

export type PkiFormatName = 'x509' | 'pgp' | 'minisign' | 'ssh';

export interface PkiPublicKey {
  format: PkiFormatName;
  /** The canonical encoding Rekor stores in an entry body (base64 of this goes in the JSON). */
  canonicalValue(): Buffer;
  /** Identities for the search index: emails and other subjects the key is bound to, as found. */
  subjects(): string[];
}

export interface PkiSignature {
  format: PkiFormatName;
  /** The canonical encoding Rekor stores in an entry body. */
  canonicalValue(): Buffer;
  /** True when this signature over `data` verifies under `key` (of the same format). */
  verify(data: Buffer, key: PkiPublicKey): boolean | Promise<boolean>;
}

export interface PkiFormat {
  name: PkiFormatName;
  /** Parses a key as a client submits it (PEM, armored, raw...); throws ServiceError 400 PUBLIC_KEY_INVALID. */
  parsePublicKey(content: Buffer): PkiPublicKey;
  /** Parses a signature as a client submits it; throws ServiceError 400 SIGNATURE_INVALID_FORMAT. */
  parseSignature(content: Buffer): PkiSignature;
}
