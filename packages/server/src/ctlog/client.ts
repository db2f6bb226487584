// An RFC 6962 HTTP client for the CA: add-pre-chain (and add-chain) against a CT log's base URL,
// the answer parsed into an SCT and, when the log's public key is given, checked to be signed
// by that log over exactly the submitted entry before the CA embeds it.

import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { SignedCertificateTimestamp } from '@sigstack/core';
import { ServiceError } from '../errors.js';
import { chainCertificate, precertEntry } from './chain.js';
import { sctSignedData, type SignedEntry } from './leaf.js';
import { jsonPoster, type PostResult } from './http-post.js';
import { sctFromJson } from './sct-json.js';
import type { CtSubmitter } from './types.js';

export interface HttpCtSubmitterOptions {
  /** The log's public key (KeyObject, PEM, or DER SPKI): SCTs are verified against it. */
  publicKey?: KeyObject | string | Buffer;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
}

export interface HttpCtSubmitter extends CtSubmitter {
  addChain(chain: Buffer[]): Promise<SignedCertificateTimestamp>;
  /** The API root requests go to (…/ct/v1). */
  readonly apiUrl: string;
}

/** The …/ct/v1 API root for a CT log base URL (as trusted roots and Fulcio name it), or one already ending in /ct/v1. */
export function ctApiUrl(baseUrl: string): string {
  const trimmed = baseUrl.replace(/\/+$/, '');
  return /\/ct\/v1$/.test(trimmed) ? trimmed : `${trimmed}/ct/v1`;
}

function toKey(key: KeyObject | string | Buffer): KeyObject {
  if (typeof key === 'string') return createPublicKey(key);
  if (Buffer.isBuffer(key)) return createPublicKey({ key, format: 'der', type: 'spki' });
  return key.type === 'private' ? createPublicKey(key) : key;
}

export function httpCtSubmitter(baseUrl: string, options: HttpCtSubmitterOptions = {}): HttpCtSubmitter {
  const apiUrl = ctApiUrl(baseUrl);
  const publicKey = options.publicKey === undefined ? undefined : toKey(options.publicKey);
  const logId = publicKey ? createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest() : undefined;
  const poster = jsonPoster(options.timeoutMs ?? 30_000);

  async function submit(path: 'add-chain' | 'add-pre-chain', chain: Buffer[]): Promise<SignedCertificateTimestamp> {
    const url = `${apiUrl}/${path}`;
    let response: PostResult;
    try {
      response = await poster.post(url, JSON.stringify({ chain: chain.map((c) => c.toString('base64')) }));
    } catch (err) {
      throw new ServiceError(502, 'CT_LOG_UNAVAILABLE', `the CT log at ${url} could not be reached (${(err as Error).message}): check that it runs and the URL`, { cause: err });
    }
    const text = response.text;
    if (response.status !== 200) {
      let reason = text.slice(0, 500);
      try {
        const parsed = JSON.parse(text) as { message?: unknown };
        if (typeof parsed.message === 'string') reason = parsed.message;
      } catch {
        // not JSON: keep the text
      }
      throw new ServiceError(502, 'CT_LOG_REJECTED', `the CT log at ${url} answered HTTP ${response.status}: ${reason}`);
    }
    let sct: SignedCertificateTimestamp;
    try {
      sct = sctFromJson(JSON.parse(text));
    } catch (err) {
      throw new ServiceError(502, 'CT_LOG_RESPONSE_INVALID', `the CT log at ${url} sent an SCT that does not parse: ${(err as Error).message}`, { cause: err });
    }
    if (publicKey && logId) checkSct(sct, path === 'add-pre-chain', chain, publicKey, logId, url);
    return sct;
  }

  return {
    apiUrl,
    addPreChain: (chain) => submit('add-pre-chain', chain),
    addChain: (chain) => submit('add-chain', chain),
  };
}

function checkSct(sct: SignedCertificateTimestamp, precert: boolean, chain: Buffer[], publicKey: KeyObject, logId: Buffer, url: string): void {
  const invalid = (why: string) => new ServiceError(502, 'CT_LOG_SCT_INVALID', `the SCT from the CT log at ${url} ${why}`);
  if (!sct.logId.equals(logId)) throw invalid('names another log ID than the configured CT key\'s');
  const leaf = chainCertificate(chain[0] ?? Buffer.alloc(0), 'the submitted certificate').x509;
  let entry: SignedEntry;
  if (precert) {
    const issuer = chain[1];
    if (!issuer) throw invalid('cannot be checked: the submitted chain has no issuer');
    entry = precertEntry(leaf, chainCertificate(issuer, 'the issuer').x509);
  } else {
    entry = { type: 'x509_entry', certificate: leaf.der };
  }
  const hash = sct.signatureAlgorithm === 'ed25519' ? null : sct.hashAlgorithm;
  if (!verify(hash, sctSignedData(sct, entry), publicKey, sct.signature)) throw invalid('does not verify under the configured CT key');
}
