// The CA hierarchy, shaped like Fulcio's public instance: a self-signed root (10 years) and an
// intermediate it signs (pathLen 0, EKU codeSigning) that issues leaves; P-256 keys unless asked
// otherwise (DEFAULT_CA_KEY_TYPE; the public instance's are P-384). Kept in a data
// directory (keys mode 0600, optionally encrypted) and reused on restart; in memory without one.

import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OID_CODE_SIGNING, X509, pemDecodeAll, pemEncode } from '@sigstack/core';
import { ServiceError } from '../../errors.js';
import { buildCaCertificate } from '../cert/ca-certificate.js';
import type { CaIssuer } from '../cert/leaf.js';
import { DEFAULT_CA_KEY_TYPE, generateCaKey, type CaKeyType } from './ephemeral.js';
import { loadPemSigner, writePrivateKeyPem } from './pem.js';
import { keyObjectSigner, type CaSigner } from './signer.js';

export interface CaHierarchyOptions {
  /** Data directory for the keys and certificates; in memory (nothing persisted) when absent. */
  dir?: string;
  /** Encrypts the key files (PKCS#8, AES-256-CBC); needed again to load them. */
  passphrase?: string;
  /** Subject O of both certificates (Fulcio's public instance: "sigstore.dev"). */
  organization?: string;
  rootCommonName?: string;
  intermediateCommonName?: string;
  /** Key types of keys made now (default DEFAULT_CA_KEY_TYPE); keys already in `dir` keep theirs. */
  rootKeyType?: CaKeyType;
  intermediateKeyType?: CaKeyType;
  rootValidityDays?: number;
  /** Capped at the root's notAfter (an intermediate may not outlive its parent). */
  intermediateValidityDays?: number;
  /** The root's BasicConstraints pathLen (Fulcio's certmaker: 1); the intermediate's is 0. */
  rootPathLength?: number;
  /** The creation time (tests). */
  now?: Date;
}

export interface CaCertificate {
  der: Buffer;
  pem: string;
  x509: X509;
  signer: CaSigner;
}

export interface CaHierarchy {
  root: CaCertificate;
  intermediate: CaCertificate;
  /** What issues leaf certificates: the intermediate and its key. */
  issuer: CaIssuer;
  /** The chain above a leaf, intermediate first, then the root (DER). */
  chain: Buffer[];
  /** The same chain as PEM (what Fulcio's trust bundle serves). */
  chainPem: string;
  /** Whether a key or certificate was made now (false when everything was reused from `dir`). */
  created: boolean;
  dir?: string;
}

export const CA_FILES = {
  rootKey: 'ca-root-key.pem',
  rootCert: 'ca-root.pem',
  intermediateKey: 'ca-intermediate-key.pem',
  intermediateCert: 'ca-intermediate.pem',
} as const;

const DAY = 24 * 60 * 60 * 1000;

function inconsistent(message: string): ServiceError {
  return new ServiceError(500, 'CA_HIERARCHY_INCONSISTENT', message);
}

function readCertificate(path: string): X509 {
  try {
    const block = pemDecodeAll(readFileSync(path, 'utf8')).find((b) => b.label === 'CERTIFICATE');
    if (!block) throw new Error('no CERTIFICATE block');
    return X509.fromDer(block.der);
  } catch (err) {
    throw new ServiceError(500, 'CA_CERTIFICATE_INVALID', `${path} is not a PEM certificate (${(err as Error).message}): restore it, or move the CA files away to create a new CA`, { cause: err });
  }
}

function writeCertificate(path: string, der: Buffer): void {
  writeFileSync(path, pemEncode('CERTIFICATE', der), { mode: 0o644, flag: 'wx' });
}

/** The signer for `keyFile` in `dir`: loaded when present, else generated and written (mode 0600). */
function signerFor(dir: string | undefined, keyFile: string, type: CaKeyType, passphrase: string | undefined): { signer: CaSigner; created: boolean } {
  if (dir !== undefined) {
    const path = join(dir, keyFile);
    if (existsSync(path)) return { signer: loadPemSigner(path, { passphrase }), created: false };
    const pair = generateCaKey(type);
    writePrivateKeyPem(path, pair.privateKey, passphrase);
    return { signer: keyObjectSigner(pair.privateKey, { description: `file:${path}`, publicKey: pair.publicKey, spki: pair.spki }), created: true };
  }
  const pair = generateCaKey(type);
  return { signer: keyObjectSigner(pair.privateKey, { description: `ephemeral ${type} key`, publicKey: pair.publicKey, spki: pair.spki }), created: true };
}

function checkCa(cert: X509, signer: CaSigner, path: string, now: Date): void {
  if (!cert.publicKeySpki.equals(signer.spki)) throw inconsistent(`${path} does not hold the certificate of the key beside it: restore the matching key, or move both away to create a new CA`);
  if (!cert.isCA) throw inconsistent(`${path} is not a CA certificate`);
  if (cert.notAfter <= now) {
    throw new ServiceError(500, 'CA_CERTIFICATE_EXPIRED', `${path} expired at ${cert.notAfter.toISOString()}: move the CA files away to create a new CA (and distribute its root)`);
  }
}


/**
 * Loads the CA hierarchy from `dir`, creating whatever is missing (keys first, then certificates);
 * without `dir`, makes a fresh one in memory. Refuses a directory whose files do not fit together.
 */
export async function createCaHierarchy(options: CaHierarchyOptions = {}): Promise<CaHierarchy> {
  const now = options.now ?? new Date();
  const organization = options.organization ?? 'sigstack';
  const dir = options.dir;
  if (dir !== undefined) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const [keyFile, certFile] of [[CA_FILES.rootKey, CA_FILES.rootCert], [CA_FILES.intermediateKey, CA_FILES.intermediateCert]] as const) {
      if (!existsSync(join(dir, keyFile)) && existsSync(join(dir, certFile))) {
        throw inconsistent(`${join(dir, certFile)} exists but its key ${keyFile} does not: restore the key, or move the certificate away to create a new one`);
      }
    }
  }
  let created = false;
  const path = (file: string) => (dir === undefined ? file : join(dir, file));

  // The root: self-signed, keyCertSign + cRLSign, no EKU.
  const rootKey = signerFor(dir, CA_FILES.rootKey, options.rootKeyType ?? DEFAULT_CA_KEY_TYPE, options.passphrase);
  created ||= rootKey.created;
  let root: X509;
  if (dir !== undefined && existsSync(path(CA_FILES.rootCert))) {
    root = readCertificate(path(CA_FILES.rootCert));
    checkCa(root, rootKey.signer, path(CA_FILES.rootCert), now);
    if (!root.isSelfIssued || !root.isSignedBy(root)) throw inconsistent(`${path(CA_FILES.rootCert)} is not a self-signed root: move the CA files away to create a new CA`);
  } else {
    const der = await buildCaCertificate({
      subject: { organization, commonName: options.rootCommonName ?? `${organization}-root` },
      spki: rootKey.signer.spki,
      signer: rootKey.signer,
      notBefore: now,
      notAfter: new Date(now.getTime() + (options.rootValidityDays ?? 3650) * DAY),
      pathLength: options.rootPathLength ?? 1,
    });
    if (dir !== undefined) writeCertificate(path(CA_FILES.rootCert), der);
    root = X509.fromDer(der);
    created = true;
  }

  // The intermediate: signed by the root, pathLen 0, EKU codeSigning, never outliving the root.
  const intermediateKey = signerFor(dir, CA_FILES.intermediateKey, options.intermediateKeyType ?? DEFAULT_CA_KEY_TYPE, options.passphrase);
  created ||= intermediateKey.created;
  let intermediate: X509;
  if (dir !== undefined && existsSync(path(CA_FILES.intermediateCert))) {
    intermediate = readCertificate(path(CA_FILES.intermediateCert));
    checkCa(intermediate, intermediateKey.signer, path(CA_FILES.intermediateCert), now);
    if (!intermediate.isSignedBy(root)) {
      throw inconsistent(`${path(CA_FILES.intermediateCert)} was not issued by the root ${path(CA_FILES.rootCert)}: move the intermediate's certificate away to issue a new one under this root`);
    }
  } else {
    const wanted = now.getTime() + (options.intermediateValidityDays ?? 3 * 365) * DAY;
    const der = await buildCaCertificate({
      subject: { organization, commonName: options.intermediateCommonName ?? `${organization}-intermediate` },
      spki: intermediateKey.signer.spki,
      parent: { cert: root.der, signer: rootKey.signer },
      notBefore: now,
      notAfter: new Date(Math.min(wanted, root.notAfter.getTime())),
      pathLength: 0,
      codeSigning: true,
    });
    if (dir !== undefined) writeCertificate(path(CA_FILES.intermediateCert), der);
    intermediate = X509.fromDer(der);
    created = true;
  }
  if (dir !== undefined) {
    for (const file of [CA_FILES.rootKey, CA_FILES.intermediateKey]) chmodSync(path(file), 0o600);
  }

  const rootCa: CaCertificate = { der: root.der, pem: pemEncode('CERTIFICATE', root.der), x509: root, signer: rootKey.signer };
  const intermediateCa: CaCertificate = { der: intermediate.der, pem: pemEncode('CERTIFICATE', intermediate.der), x509: intermediate, signer: intermediateKey.signer };
  return {
    root: rootCa,
    intermediate: intermediateCa,
    issuer: { cert: intermediate.der, signer: intermediateKey.signer },
    chain: [intermediate.der, root.der],
    chainPem: intermediateCa.pem + rootCa.pem,
    created,
    ...(dir !== undefined ? { dir } : {}),
  };
}

/**
 * A CA loaded from files, as Fulcio's fileca takes it: a PEM chain (issuing certificate first,
 * up to the root) and the issuing certificate's PEM key (optionally encrypted).
 */
export function loadFileCa(options: { chainPath: string; keyPath?: string; passphrase?: string; signer?: CaSigner }): { issuer: CaIssuer; chain: Buffer[] } {
  let text: string;
  try {
    text = readFileSync(options.chainPath, 'utf8');
  } catch (err) {
    throw new ServiceError(500, 'CA_CERTIFICATE_UNREADABLE', `cannot read the CA chain ${options.chainPath} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
  const chain = pemDecodeAll(text).filter((b) => b.label === 'CERTIFICATE').map((b) => X509.fromDer(b.der));
  const first = chain[0];
  if (!first) throw new ServiceError(500, 'CA_CERTIFICATE_INVALID', `${options.chainPath} holds no PEM certificate: give the issuing CA certificate first, then its parents up to the root`);
  if (!options.signer && options.keyPath === undefined) throw new ServiceError(500, 'CA_KEY_MISSING', 'a file CA needs its key: a PEM file or a key held elsewhere (PKCS#11)');
  const signer = options.signer ?? loadPemSigner(options.keyPath as string, { passphrase: options.passphrase });
  checkCa(first, signer, options.chainPath, new Date());
  if (chain.length > 1 && !first.extendedKeyUsage.includes(OID_CODE_SIGNING)) {
    throw inconsistent(`the issuing certificate in ${options.chainPath} lacks the code-signing extended key usage its leaves need (Fulcio requires it on intermediates)`);
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!(chain[i] as X509).isSignedBy(chain[i + 1] as X509)) throw inconsistent(`certificate ${i + 1} of ${options.chainPath} is not issued by certificate ${i + 2}: order the chain from the issuing CA up to the root`);
  }
  const last = chain[chain.length - 1] as X509;
  if (last.isSelfIssued && !last.isSignedBy(last)) throw inconsistent(`the root of ${options.chainPath} does not verify its own signature`);
  return { issuer: { cert: first.der, signer }, chain: chain.map((c) => c.der) };
}
