// What a CT log accepts: a submitted chain (leaf first, DER) that leads by issuer name and
// signature to one of its roots; precertificates carry the critical poison extension, and the
// entry logged for them is their TBS without it, with the issuer's key hash (RFC 6962 §3.1-3.2).

import { createHash } from 'node:crypto';
import { OID_PRECERT_POISON, X509 } from '@sigstack/core';
import { ServiceError } from '../errors.js';
import type { SignedEntry } from './leaf.js';

/** The EKU of an RFC 6962 "Precertificate Signing Certificate" (§3.1). */
export const OID_PRECERT_SIGNING_EKU = '1.3.6.1.4.1.11129.2.4.4';
/** Longest chain accepted (leaf, intermediates, root). */
export const MAX_CHAIN_LENGTH = 10;

/** A certificate of a submitted chain, parsed once (strict DER). */
export interface ChainCertificate {
  x509: X509;
}

export interface ValidatedChain {
  leaf: ChainCertificate;
  /** The issuers above the leaf as verified, ending with the accepted root. */
  path: ChainCertificate[];
  entry: SignedEntry;
}

function reject(code: string, message: string): ServiceError {
  return new ServiceError(400, code, message);
}

export function chainCertificate(der: Buffer, what: string): ChainCertificate {
  try {
    return { x509: X509.fromDer(der) };
  } catch (err) {
    throw reject('CERTIFICATE_INVALID', `${what} is not a DER X.509 certificate (${(err as Error).message}): send each certificate as base64 of its DER bytes`);
  }
}

/**
 * CA certificates come again with every submission: their parse, and whether one issued
 * another, are functions of their bytes alone, so both are remembered (bounded).
 */
const CACHE_LIMIT = 256;
const parsedIssuers = new Map<string, ChainCertificate>();
const verifiedLinks = new Set<string>();

function remember<K, V>(map: Map<K, V>, key: K, value: V): V {
  if (map.size >= CACHE_LIMIT) map.delete(map.keys().next().value as K);
  map.set(key, value);
  return value;
}

function issuerCertificate(der: Buffer, what: string): ChainCertificate {
  const key = der.toString('base64');
  return parsedIssuers.get(key) ?? remember(parsedIssuers, key, chainCertificate(der, what));
}

/**
 * True when `parent` issued `child`: names (and key identifiers) match, the parent may sign
 * certificates (keyCertSign, when it states key usage), and the signature verifies. The
 * signature is checked on libuv's thread pool: a leaf's check is new for every submission
 * (~0.5 ms for a P-384 issuer) and would otherwise hold up the log's event loop, which
 * sequences every other submission.
 */
export async function issuedBy(child: ChainCertificate, parent: ChainCertificate): Promise<boolean> {
  try {
    return parent.x509.keyUsage?.keyCertSign !== false && (await child.x509.isSignedByAsync(parent.x509));
  } catch {
    return false;
  }
}

/** issuedBy for two CA certificates, remembered. */
async function caIssuedBy(child: ChainCertificate, parent: ChainCertificate): Promise<boolean> {
  const key = `${child.x509.der.toString('base64')}|${parent.x509.der.toString('base64')}`;
  if (verifiedLinks.has(key)) return true;
  const ok = await issuedBy(child, parent);
  if (ok) {
    if (verifiedLinks.size >= CACHE_LIMIT) verifiedLinks.delete(verifiedLinks.values().next().value as string);
    verifiedLinks.add(key);
  }
  return ok;
}

/**
 * The precertificate's TBSCertificate without the poison extension, re-encoded in DER (what the
 * log signs over, and what a final certificate's TBS without its SCT list must equal). The
 * certificate parsed as strict DER, so the other bytes are kept as they are.
 */
export function precertTbsWithoutPoison(precert: X509): Buffer {
  return precert.tbsWithoutExtension(OID_PRECERT_POISON);
}

/** The entry a precertificate issued by `issuer` is logged as. */
export function precertEntry(precert: X509, issuer: X509): SignedEntry {
  if (issuer.extendedKeyUsage.includes(OID_PRECERT_SIGNING_EKU)) {
    throw reject('PRECERT_SIGNING_CERTIFICATE_UNSUPPORTED', 'the precertificate is signed by a Precertificate Signing Certificate, which this log does not accept: sign precertificates with the issuing CA itself');
  }
  return {
    type: 'precert_entry',
    issuerKeyHash: createHash('sha256').update(issuer.publicKeySpki).digest(),
    tbsCertificate: precertTbsWithoutPoison(precert),
  };
}

/** Checks the poison extension: present, critical, ASN.1 NULL for a precertificate; absent otherwise. */
function checkPoison(leaf: X509, precert: boolean): void {
  const poison = leaf.extension(OID_PRECERT_POISON);
  if (precert) {
    if (!poison) throw reject('PRECERT_POISON_MISSING', `the first certificate of the chain lacks the precertificate poison extension ${OID_PRECERT_POISON}: submit final certificates to add-chain`);
    if (!poison.critical) throw reject('PRECERT_POISON_INVALID', 'the precertificate poison extension must be critical (RFC 6962 §3.1)');
    if (!poison.value.equals(Buffer.from([0x05, 0x00]))) throw reject('PRECERT_POISON_INVALID', 'the precertificate poison extension\'s value must be ASN.1 NULL (RFC 6962 §3.1)');
  } else if (poison) {
    throw reject('PRECERT_TO_ADD_CHAIN', 'the first certificate of the chain is a precertificate (it carries the poison extension): submit it to add-pre-chain');
  }
}

/**
 * Validates a submitted chain against the accepted roots: each certificate must be issued by the
 * next (a CA), until one is an accepted root or is issued by one; the root may be left out.
 */
export async function validateChain(chain: Buffer[], roots: readonly ChainCertificate[], precert: boolean): Promise<ValidatedChain> {
  if (chain.length === 0) throw reject('CHAIN_EMPTY', 'the chain is empty: send the leaf certificate first, then its issuers');
  if (chain.length > MAX_CHAIN_LENGTH) throw reject('CHAIN_TOO_LONG', `the chain has ${chain.length} certificates; at most ${MAX_CHAIN_LENGTH} are accepted`);
  const certs = chain.map((der, i) => (i === 0 ? chainCertificate(der, 'the first certificate of the chain') : issuerCertificate(der, `certificate ${i + 1} of the chain`)));
  const leaf = certs[0] as ChainCertificate;
  checkPoison(leaf.x509, precert);

  const path: ChainCertificate[] = [];
  let current = leaf;
  for (let i = 0; ; i++) {
    const check = i === 0 ? issuedBy : caIssuedBy;
    let root: ChainCertificate | undefined;
    for (const candidate of roots) {
      if (await check(current, candidate)) {
        root = candidate;
        break;
      }
    }
    if (root) {
      path.push(root);
      break;
    }
    const next = certs[i + 1];
    if (!next) {
      throw reject('CHAIN_NOT_TRUSTED', 'the chain does not lead to a root this log accepts: include the intermediates up to one of the roots listed by get-roots');
    }
    if (!(await check(current, next))) {
      throw reject('CHAIN_BROKEN', `certificate ${i + 1} of the chain is not issued by certificate ${i + 2}: order the chain from the leaf up to the root`);
    }
    if (!next.x509.isCA) throw reject('CHAIN_BROKEN', `certificate ${i + 2} of the chain issues another but is not a CA certificate`);
    path.push(next);
    current = next;
  }
  const issuer = path[0] as ChainCertificate; // the loop always ends with a root in the path
  const entry: SignedEntry = precert ? precertEntry(leaf.x509, issuer.x509) : { type: 'x509_entry', certificate: leaf.x509.der };
  return { leaf, path, entry };
}
