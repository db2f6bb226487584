// Rekor's pluggable entry types: one module per kind and API version (hashedrekord 0.0.1,
// rekord 0.0.1, intoto 0.0.1 / 0.0.2, dsse 0.0.1, rfc3161 0.0.1, and the Rekor v2 kinds
// hashedrekord 0.0.2 / dsse 0.0.2), registered in one table in index.ts.

/** A search index key an entry contributes (Rekor's /api/v1/index/retrieve looks these up). */
export interface IndexKey {
  type: 'hash' | 'email' | 'publicKey' | 'subject';
  /** hash: "sha256:<hex>" (lowercase); email: lowercased address; publicKey: hex SHA-256 of the key's canonical value; subject: as found. */
  value: string;
}

export interface CanonicalEntry {
  kind: string;
  apiVersion: string;
  /** The entry as the log stores it: RFC 8785 canonical JSON bytes (the Merkle leaf data). */
  body: Buffer;
  indexKeys: IndexKey[];
  /** Data stored beside the entry but outside the Merkle leaf (a CT entry's certificate chain). */
  extra?: Buffer;
  /** RFC 6962 leaf hash of `body`, when already computed (admission workers do it off the sequencing thread). */
  leafHash?: Buffer;
}

export interface EntryType {
  kind: string;
  apiVersion: string;
  /**
   * Validates a proposed entry (the JSON a client POSTs to /api/v1/log/entries, or for Rekor v2
   * kinds the request object), checks its signature, and returns the canonical entry.
   * Throws ServiceError 400 with a code saying which check failed.
   */
  canonicalize(proposed: unknown): Promise<CanonicalEntry>;
}
