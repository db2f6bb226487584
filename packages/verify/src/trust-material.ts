// Trust material built from a trusted root, made once and reused across verifications:
// parsed CA and TSA chains (their internal signatures checked once, then remembered), and
// log keys looked up by log ID. Only facts about the trusted root itself are cached.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createPublicKey, type KeyObject } from 'node:crypto';
import {
  digestOf,
  FixedKeyVerifier,
  X509,
  inTimeRange,
  parseTrustedRootJson,
  spkiKeyInfo,
  verifySignatureAsync,
  type CertificateAuthority,
  type HashName,
  type SignatureAlgorithm,
  type TimeRange,
  type TransparencyLogInstance,
  type TrustedRoot,
} from '@sigstack/core';
import { VerificationError } from './errors.js';

export interface TrustedLog {
  baseUrl: string;
  /** The base URL without scheme or trailing slash (checkpoint signers are found by key hint, not by this). */
  origin: string;
  logId: Buffer;
  /** What checkpoint key hints are compared with (checkpointKeyId, else logId). */
  keyIdForHint: Buffer;
  keyDetails: string;
  validFor: TimeRange;
  readonly publicKey: KeyObject;
  /** The key prepared once for ECDSA checks (see FixedKeyVerifier); undefined for other keys. */
  readonly fixedKey: FixedKeyVerifier | undefined;
}

export interface TrustedAuthority {
  uri: string;
  validFor: TimeRange;
  /** Parsed chain, leaf-most first. */
  chain: X509[];
  /** Resolves once: whether every certificate is signed by the next (and a self-issued top by itself). */
  chainIntact(): Promise<boolean>;
}

export class TrustMaterial {
  readonly root: TrustedRoot;
  readonly certificateAuthorities: TrustedAuthority[];
  readonly timestampAuthorities: TrustedAuthority[];
  readonly tlogs: TrustedLog[];
  readonly ctlogs: TrustedLog[];

  constructor(root: TrustedRoot) {
    this.root = root;
    this.certificateAuthorities = root.certificateAuthorities.map(toAuthority);
    this.timestampAuthorities = root.timestampAuthorities.map(toAuthority);
    this.tlogs = root.tlogs.map(toLog);
    this.ctlogs = root.ctlogs.map(toLog);
  }

  static fromFile(path: string): TrustMaterial {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new VerificationError('TRUSTED_ROOT_UNREADABLE', `cannot read trusted root ${path}: ${(err as Error).message}`);
    }
    return new TrustMaterial(parseTrustedRootJson(text));
  }

  /** The public-good instance's trusted root shipped with this package. */
  static publicGood(): TrustMaterial {
    // Resolved through the package's exports, so it is found from bundles of this code too.
    return TrustMaterial.fromFile(createRequire(import.meta.url).resolve('@sigstack/verify/trust/public-good-trusted-root.json'));
  }

  tlogById(logId: Buffer): TrustedLog | undefined {
    return this.tlogs.find((log) => log.logId.equals(logId));
  }

  ctlogById(logId: Buffer): TrustedLog | undefined {
    return this.ctlogs.find((log) => log.logId.equals(logId));
  }
}

function toLog(log: TransparencyLogInstance): TrustedLog {
  let key: KeyObject | undefined;
  let fixed: FixedKeyVerifier | null | undefined;
  return {
    baseUrl: log.baseUrl,
    origin: log.baseUrl.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, ''),
    logId: log.logId,
    keyIdForHint: log.checkpointKeyId ?? log.logId,
    keyDetails: log.publicKey.keyDetails,
    validFor: log.publicKey.validFor,
    get publicKey(): KeyObject {
      if (!key) {
        const pkcs1 = /^PKCS1_RSA/.test(log.publicKey.keyDetails);
        try {
          key = createPublicKey({ key: log.publicKey.rawBytes, format: 'der', type: pkcs1 ? 'pkcs1' : 'spki' });
        } catch (err) {
          throw new VerificationError('TRUSTED_ROOT_INVALID', `log ${log.baseUrl} has an unusable public key: ${(err as Error).message}`);
        }
      }
      return key;
    },
    get fixedKey(): FixedKeyVerifier | undefined {
      if (fixed === undefined) {
        fixed = null;
        if (!/^PKCS1_RSA/.test(log.publicKey.keyDetails)) {
          try {
            fixed = FixedKeyVerifier.for(spkiKeyInfo(log.publicKey.rawBytes)) ?? null;
          } catch {
            // Not a parseable SPKI: publicKey reports the problem when a check asks for it.
          }
        }
      }
      return fixed ?? undefined;
    },
  };
}

/**
 * A signature by a trusted log's key (a signed entry timestamp, a checkpoint, an SCT): from the
 * key prepared once when it is ECDSA, else on the thread pool.
 */
export function verifyByLog(log: TrustedLog, algorithm: SignatureAlgorithm, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const fixed = algorithm.hash && !algorithm.pss ? log.fixedKey : undefined;
  if (fixed && algorithm.hash) return Promise.resolve(fixed.verify(algorithm.hash, data, signature));
  return verifySignatureAsync(algorithm, data, log.publicKey, signature);
}

function toAuthority(ca: CertificateAuthority): TrustedAuthority {
  let chain: X509[] | undefined;
  let intact: Promise<boolean> | undefined;
  const authority: TrustedAuthority = {
    uri: ca.uri,
    validFor: ca.validFor,
    get chain(): X509[] {
      if (!chain) chain = ca.certChain.map((der) => X509.fromDer(der));
      return chain;
    },
    chainIntact(): Promise<boolean> {
      if (!intact) intact = checkChain(authority.chain);
      return intact;
    },
  };
  return authority;
}

async function checkChain(chain: X509[]): Promise<boolean> {
  const checks = chain.map((cert, i) => {
    const issuer = chain[i + 1] ?? cert;
    // The top certificate is an anchor by configuration; when it is self-issued, its self-signature must hold.
    if (issuer === cert && !cert.isSelfIssued) return Promise.resolve(true);
    if (!cert.issuerDer.equals(issuer.subjectDer)) return Promise.resolve(false);
    return verifySignatureAsync(cert.signatureAlgorithm, cert.tbs, issuer.publicKey, cert.signature);
  });
  return (await Promise.all(checks)).every(Boolean);
}

const fixedKeys = new WeakMap<X509, FixedKeyVerifier | null>();

/**
 * A certificate of the trusted root (a CA or TSA certificate, never one from a bundle) as a
 * FixedKeyVerifier, made once: undefined when its key does not take the fast route.
 */
export function fixedKeyOf(trusted: X509): FixedKeyVerifier | undefined {
  let verifier = fixedKeys.get(trusted);
  if (verifier === undefined) {
    verifier = FixedKeyVerifier.for(trusted.publicKeyInfo) ?? null;
    fixedKeys.set(trusted, verifier);
  }
  return verifier ?? undefined;
}

/** A signature by a trusted certificate's key: from its tables when it has some, else on the thread pool. */
export function verifyByTrusted(trusted: X509, algorithm: SignatureAlgorithm, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const fixed = algorithm.hash && !algorithm.pss ? fixedKeyOf(trusted) : undefined;
  if (fixed) return Promise.resolve(fixed.verify(algorithm.hash as HashName, data, signature));
  return verifySignatureAsync(algorithm, data, trusted.publicKey, signature);
}

export function validAt(range: TimeRange, date: Date): boolean {
  return inTimeRange(range, date);
}

export function sha256(data: Uint8Array): Buffer {
  return digestOf('sha256', data);
}
