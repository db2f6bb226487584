// Transparency log clients: Rekor v1 (hashedrekord / dsse 0.0.1; a 409 fetches the entry already
// logged from its Location, so a retried upload succeeds) and Rekor v2 (hashedRekordRequestV002 /
// dsseRequestV002); answers are checked and turned into the entries bundles carry.

import { leafHash, parseCheckpoint, parseSignedNote, verifyInclusion } from '@sigstack/core';
import type { TlogEntryJson } from './bundle.js';
import { SignError, messageOf } from './errors.js';
import { answerError, httpRequest, joinUrl, jsonBody, postJson, type HttpResponse, type RetryOptions } from './http.js';

export const LOG_SERVICE = 'transparency log';

/** Who signed, as a log entry names it. */
export type EntryVerifier = { kind: 'certificate'; der: Buffer; pem: string; keyDetails: string } | { kind: 'publicKey'; spki: Buffer; pem: string; keyDetails: string };

/** What gets logged: a signature over a digest, or a signed DSSE envelope. */
export type EntryContent =
  | { kind: 'hashedrekord'; algorithm: 'sha256' | 'sha384' | 'sha512'; digest: Buffer; signature: Buffer }
  | { kind: 'dsse'; payloadType: string; payload: Buffer; signature: Buffer };

export interface TlogClient {
  readonly url: string;
  readonly majorApiVersion: 1 | 2;
  /** Logs the content and answers the entry as a bundle carries it. */
  logEntry(content: EntryContent, verifier: EntryVerifier): Promise<TlogEntryJson>;
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

function envelopeJson(content: Extract<EntryContent, { kind: 'dsse' }>) {
  return { payload: b64(content.payload), payloadType: content.payloadType, signatures: [{ sig: b64(content.signature), keyid: '' }] };
}

/** The Rekor v1 proposed entry (hashedrekord 0.0.1 or dsse 0.0.1). */
export function rekorV1ProposedEntry(content: EntryContent, verifier: EntryVerifier): Record<string, unknown> {
  const pem = b64(Buffer.from(verifier.pem, 'utf8'));
  if (content.kind === 'hashedrekord') {
    return {
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: content.algorithm, value: content.digest.toString('hex') } },
        signature: { content: b64(content.signature), publicKey: { content: pem } },
      },
    };
  }
  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: { proposedContent: { envelope: JSON.stringify(envelopeJson(content)), verifiers: [pem] } },
  };
}

function v2Verifier(verifier: EntryVerifier) {
  return verifier.kind === 'certificate'
    ? { x509Certificate: { rawBytes: b64(verifier.der) }, keyDetails: verifier.keyDetails }
    : { publicKey: { rawBytes: b64(verifier.spki) }, keyDetails: verifier.keyDetails };
}

/** The Rekor v2 request (hashedRekordRequestV002 or dsseRequestV002). */
export function rekorV2Request(content: EntryContent, verifier: EntryVerifier): Record<string, unknown> {
  if (content.kind === 'hashedrekord') {
    return { hashedRekordRequestV002: { digest: b64(content.digest), signature: { content: b64(content.signature), verifier: v2Verifier(verifier) } } };
  }
  return { dsseRequestV002: { envelope: envelopeJson(content), verifiers: [v2Verifier(verifier)] } };
}

// ---------------------------------------------------------------------------------------------
// Checking answers

function invalid(url: string, why: string, cause?: unknown): SignError {
  return new SignError('LOG_RESPONSE_INVALID', `${LOG_SERVICE} at ${url} answered with ${why}`, { service: LOG_SERVICE, url, cause });
}

/**
 * Checks an entry against what was submitted and its own proof: the body names our signature,
 * the inclusion proof leads from the body's leaf hash to the root, and the checkpoint commits
 * to that root and size. (The checkpoint's signature is the verifier's job, with a trusted root.)
 */
export function checkTlogEntry(entry: TlogEntryJson, signature: Buffer, url: string): void {
  try {
    const body = Buffer.from(entry.canonicalizedBody, 'base64');
    if (!body.toString('utf8').includes(signature.toString('base64'))) {
      throw new SignError('LOG_ENTRY_MISMATCH', `${LOG_SERVICE} at ${url} answered with an entry that does not hold the signature submitted`, { service: LOG_SERVICE, url });
    }
    const proof = entry.inclusionProof;
    const index = Number(proof.logIndex);
    const size = Number(proof.treeSize);
    const root = Buffer.from(proof.rootHash, 'base64');
    verifyInclusion(index, size, leafHash(body), proof.hashes.map((h) => Buffer.from(h, 'base64')), root);
    const checkpoint = parseCheckpoint(parseSignedNote(proof.checkpoint.envelope).body);
    if (checkpoint.size !== size || !checkpoint.rootHash.equals(root)) {
      throw invalid(url, `a checkpoint (size ${checkpoint.size}) that is not the tree the inclusion proof is for (size ${size})`);
    }
  } catch (err) {
    if (err instanceof SignError) throw err;
    throw invalid(url, `an entry whose inclusion proof does not check out: ${messageOf(err)}`, err);
  }
}

// ---------------------------------------------------------------------------------------------
// Rekor v1

interface V1LogEntry {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification?: {
    signedEntryTimestamp?: string;
    inclusionProof?: { logIndex: number; rootHash: string; treeSize: number; hashes: string[]; checkpoint: string };
  };
}

export interface RekorV1Entry {
  uuid: string;
  entry: V1LogEntry;
  /** True when the log already had it (answered 409, fetched from its Location). */
  existed: boolean;
}

/** A Rekor v1 LogEntry as a bundle's TransparencyLogEntry. */
export function tlogEntryFromV1(entry: V1LogEntry, url: string): TlogEntryJson {
  const proof = entry.verification?.inclusionProof;
  const set = entry.verification?.signedEntryTimestamp;
  if (!proof || !proof.checkpoint) throw invalid(url, 'an entry without an inclusion proof and checkpoint');
  if (!set) throw invalid(url, 'an entry without a signed entry timestamp');
  let kind: string;
  let version: string;
  try {
    const body = JSON.parse(Buffer.from(entry.body, 'base64').toString('utf8')) as { kind?: unknown; apiVersion?: unknown };
    if (typeof body.kind !== 'string' || typeof body.apiVersion !== 'string') throw new Error('no kind and apiVersion');
    kind = body.kind;
    version = body.apiVersion;
  } catch (err) {
    throw invalid(url, `an entry body that is not a Rekor entry: ${messageOf(err)}`, err);
  }
  return {
    logIndex: String(entry.logIndex),
    logId: { keyId: Buffer.from(entry.logID, 'hex').toString('base64') },
    kindVersion: { kind, version },
    integratedTime: String(entry.integratedTime),
    inclusionPromise: { signedEntryTimestamp: set },
    inclusionProof: {
      logIndex: String(proof.logIndex),
      rootHash: Buffer.from(proof.rootHash, 'hex').toString('base64'),
      treeSize: String(proof.treeSize),
      hashes: proof.hashes.map((h) => Buffer.from(h, 'hex').toString('base64')),
      checkpoint: { envelope: proof.checkpoint },
    },
    canonicalizedBody: entry.body,
  };
}

export class RekorV1Client implements TlogClient {
  readonly url: string;
  readonly majorApiVersion = 1 as const;

  constructor(
    baseUrl: string,
    private readonly retry: RetryOptions & { onRetry?: (attempt: number, reason: string) => void } = {},
  ) {
    this.url = baseUrl.replace(/\/+$/, '');
  }

  private single(response: HttpResponse): RekorV1Entry['entry'] & { uuid: string } {
    const json = jsonBody(LOG_SERVICE, response);
    const entries = json && typeof json === 'object' && !Array.isArray(json) ? Object.entries(json as Record<string, V1LogEntry>) : [];
    if (entries.length !== 1) throw invalid(response.url, 'not exactly one entry');
    const [uuid, entry] = entries[0] as [string, V1LogEntry];
    if (!entry || typeof entry.body !== 'string' || typeof entry.logIndex !== 'number' || typeof entry.logID !== 'string') {
      throw invalid(response.url, 'an entry without body, logIndex and logID');
    }
    return { ...entry, uuid };
  }

  /**
   * POSTs a proposed entry. 201: the new entry. 409 (an equal entry is logged — e.g. this is a
   * retry whose first attempt was stored but whose answer was lost): the entry is fetched from
   * the Location header and returned with `existed: true`.
   */
  async createEntry(proposed: unknown): Promise<RekorV1Entry> {
    const url = joinUrl(this.url, '/api/v1/log/entries');
    const response = await postJson({ ...this.retry, service: LOG_SERVICE, url }, proposed);
    if (response.status === 201 || response.status === 200) {
      const { uuid, ...entry } = this.single(response);
      return { uuid, entry, existed: false };
    }
    if (response.status === 409) {
      const location = response.headers.get('location');
      if (!location) throw answerError(LOG_SERVICE, response, 'LOG_ENTRY_CONFLICT', 'says the entry exists but gave no Location to fetch it from');
      const existing = await this.fetchEntry(new URL(location, `${this.url}/`).toString());
      return { ...existing, existed: true };
    }
    throw answerError(LOG_SERVICE, response, 'LOG_ENTRY_REFUSED', 'refused the entry');
  }

  /** GET /api/v1/log/entries/{uuid}. */
  async getEntry(uuid: string): Promise<RekorV1Entry> {
    return { ...(await this.fetchEntry(joinUrl(this.url, `/api/v1/log/entries/${encodeURIComponent(uuid)}`))), existed: true };
  }

  private async fetchEntry(url: string): Promise<Omit<RekorV1Entry, 'existed'>> {
    const response = await httpRequest({ ...this.retry, service: LOG_SERVICE, url, headers: { accept: 'application/json' } });
    if (response.status !== 200) throw answerError(LOG_SERVICE, response, 'LOG_ENTRY_UNAVAILABLE', 'did not give the entry');
    const { uuid, ...entry } = this.single(response);
    return { uuid, entry };
  }

  async logEntry(content: EntryContent, verifier: EntryVerifier): Promise<TlogEntryJson> {
    const created = await this.createEntry(rekorV1ProposedEntry(content, verifier));
    const entry = tlogEntryFromV1(created.entry, this.url);
    checkTlogEntry(entry, content.signature, this.url);
    return entry;
  }
}

// ---------------------------------------------------------------------------------------------
// Rekor v2

export class RekorV2Client implements TlogClient {
  readonly url: string;
  readonly majorApiVersion = 2 as const;

  constructor(
    baseUrl: string,
    private readonly retry: RetryOptions & { onRetry?: (attempt: number, reason: string) => void } = {},
  ) {
    this.url = baseUrl.replace(/\/+$/, '');
  }

  /** POSTs a v2 request; the log answers the TransparencyLogEntry (also for a repeated request). */
  async createEntry(request: unknown): Promise<TlogEntryJson> {
    const url = joinUrl(this.url, '/api/v2/log/entries');
    // Rekor v2 answers once the entry is in a checkpoint, which can take seconds.
    const response = await postJson({ timeoutMs: 60_000, ...this.retry, service: LOG_SERVICE, url }, request);
    if (response.status !== 200 && response.status !== 201) throw answerError(LOG_SERVICE, response, 'LOG_ENTRY_REFUSED', 'refused the entry');
    const json = jsonBody(LOG_SERVICE, response) as Record<string, any>;
    const proof = json?.inclusionProof;
    if (
      typeof json?.logIndex !== 'string' && typeof json?.logIndex !== 'number' ||
      typeof json?.canonicalizedBody !== 'string' ||
      typeof json?.logId?.keyId !== 'string' ||
      typeof json?.kindVersion?.kind !== 'string' ||
      !proof ||
      typeof proof.checkpoint?.envelope !== 'string'
    ) {
      throw invalid(url, 'a TransparencyLogEntry without logIndex, logId, kindVersion, canonicalizedBody and inclusionProof with checkpoint');
    }
    // integratedTime is 0 in Rekor v2 (no time is promised): leave it out of the bundle.
    return {
      logIndex: String(json.logIndex),
      logId: { keyId: json.logId.keyId },
      kindVersion: { kind: json.kindVersion.kind, version: String(json.kindVersion.version) },
      inclusionProof: {
        logIndex: String(proof.logIndex ?? json.logIndex),
        rootHash: String(proof.rootHash),
        treeSize: String(proof.treeSize),
        hashes: Array.isArray(proof.hashes) ? proof.hashes.map(String) : [],
        checkpoint: { envelope: proof.checkpoint.envelope },
      },
      canonicalizedBody: json.canonicalizedBody,
    };
  }

  async logEntry(content: EntryContent, verifier: EntryVerifier): Promise<TlogEntryJson> {
    const entry = await this.createEntry(rekorV2Request(content, verifier));
    checkTlogEntry(entry, content.signature, this.url);
    return entry;
  }
}

/** The client for a log by its API version. */
export function tlogClient(url: string, majorApiVersion: number, retry: RetryOptions = {}): TlogClient {
  if (majorApiVersion === 1) return new RekorV1Client(url, retry);
  if (majorApiVersion === 2) return new RekorV2Client(url, retry);
  throw new SignError('LOG_VERSION_UNSUPPORTED', `transparency log API version ${majorApiVersion} (${url}) is not supported: use 1 or 2`);
}
