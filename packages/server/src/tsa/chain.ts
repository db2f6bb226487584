// The TSA's signing key and certificate chain: a PEM key file (optionally encrypted) or a key
// generated in the data directory (PKCS#8, mode 0600) or in memory, certified by a root CA made
// on first start; reused on restart; checked as sigstore/timestamp-authority's VerifyCertChain does.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExtendedKeyUsage, KeyUsage, KeyUsageFlags } from '@peculiar/asn1-x509';
import { X509, pemDecodeAll, pemEncode } from '@sigstack/core';
import { ServiceError } from '../errors.js';
import {
  OID_EXT_KEY_USAGE,
  OID_KEY_USAGE,
  authorityKeyIdExtension,
  distinguishedName,
  extension,
  keyIdentifier,
  parseCertificate,
  randomSerialNumber,
  signCertificate,
  subjectKeyIdExtension,
  tbsCertificate,
  wholeSeconds,
} from '../ca/cert/builder.js';
import { buildCaCertificate } from '../ca/cert/ca-certificate.js';
import { generateCaKey } from '../ca/keys/ephemeral.js';
import { loadPemSigner, writePrivateKeyPem } from '../ca/keys/pem.js';
import { loadPkcs11Signer, type Pkcs11Signer, type Pkcs11SignerOptions } from '../ca/keys/pkcs11.js';
import { keyObjectSigner, type CaSigner } from '../ca/keys/signer.js';
import { OID_TIME_STAMPING } from './asn1.js';

export type TsaKeyType = 'P-256' | 'P-384';

/** Files kept in the data directory (prefixed: the directory may be shared with other services). */
export const TSA_FILES = {
  rootKey: 'tsa-root-key.pem',
  rootCert: 'tsa-root.pem',
  key: 'tsa-key.pem',
  cert: 'tsa-cert.pem',
} as const;

export interface TsaChainOptions {
  /** Data directory for the generated keys and certificates; in memory (ephemeral) without it. */
  dir?: string;
  /** The TSA signing key as a PEM file (PKCS#8, SEC1; optionally encrypted) instead of a generated one. */
  keyPath?: string;
  /** Password of `keyPath`; without `keyPath`, encrypts the keys generated in `dir`. */
  password?: string;
  /** A PEM chain (TSA certificate first, up to the root) for the signing key, instead of the generated root. */
  certChainPath?: string;
  /** An already loaded signing key (e.g. from loadPkcs11TsaSigner); wins over keyPath. */
  signer?: CaSigner;
  /** Curve of a generated TSA key (default P-256); the generated root is P-384. */
  keyType?: TsaKeyType;
  /** Subject O of the generated certificates (default "sigstack"). */
  organization?: string;
  /** Subject CN of the generated TSA certificate (default "sigstack-tsa"). */
  commonName?: string;
  rootValidityDays?: number;
  leafValidityDays?: number;
  /** The creation time (tests). */
  now?: Date;
}

export interface TsaChain {
  /** Signs the timestamp tokens (ECDSA P-256 or P-384). */
  signer: CaSigner;
  /** TSA certificate first, then its issuers up to the root. */
  certificates: X509[];
  /** The same chain as PEM, leaf first (what GET /api/v1/timestamp/certchain serves). */
  chainPem: string;
  /** Whether a key or certificate was made now. */
  created: boolean;
  dir?: string;
}

const DAY = 24 * 60 * 60 * 1000;
/** Certificates start a little in the past, as sigstore's TSA does, so skewed clocks accept them at once. */
const BACKDATE = 5 * 60 * 1000;

function chainError(message: string, cause?: unknown): ServiceError {
  return new ServiceError(500, 'TSA_CHAIN_INVALID', message, cause === undefined ? undefined : { cause });
}

/** Refuses keys other than ECDSA P-256 / P-384 (what the TSA signs with). */
export function checkTsaSigner(signer: CaSigner): void {
  if (signer.algorithm !== 'ecdsa-with-SHA256' && signer.algorithm !== 'ecdsa-with-SHA384') {
    throw new ServiceError(500, 'TSA_KEY_UNSUPPORTED', `the TSA key (${signer.description}) signs with ${signer.algorithm}: use an ECDSA P-256 or P-384 key`);
  }
}

function readCertificates(path: string): X509[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw chainError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, err);
  }
  try {
    const certs = pemDecodeAll(text).filter((b) => b.label === 'CERTIFICATE').map((b) => X509.fromDer(b.der));
    if (certs.length === 0) throw new Error('no CERTIFICATE block');
    return certs;
  } catch (err) {
    throw chainError(`${path} is not a PEM certificate chain (${(err as Error).message})`, err);
  }
}


/**
 * Checks a TSA chain (leaf first, root last) the way sigstore/timestamp-authority's
 * VerifyCertChain does: at least a leaf and a root, each certificate signed by the next, the
 * issuers CAs, the leaf an end entity for the signer's key whose only EKU is a critical
 * timeStamping (RFC 3161 §2.3), and nothing expired at `now`.
 */
export function checkTsaChain(certs: X509[], signer: CaSigner, where: string, now: Date = new Date()): void {
  const leaf = certs[0];
  if (!leaf || certs.length < 2) throw chainError(`${where}: a TSA chain needs the TSA certificate and at least its root`);
  if (!leaf.publicKeySpki.equals(signer.spki)) throw chainError(`${where}: the TSA certificate is not for the TSA key (${signer.description}); give the chain issued for that key`);
  if (leaf.isCA) throw chainError(`${where}: the TSA certificate is a CA certificate; RFC 3161 §2.3 wants an end-entity certificate`);
  const eku = leaf.extension(OID_EXT_KEY_USAGE);
  if (!eku || !eku.critical || leaf.extendedKeyUsage.length !== 1 || leaf.extendedKeyUsage[0] !== OID_TIME_STAMPING) {
    throw chainError(`${where}: the TSA certificate must have exactly one extended key usage, timeStamping (${OID_TIME_STAMPING}), marked critical (RFC 3161 §2.3)`);
  }
  const ku = leaf.keyUsage;
  if (ku && !ku.digitalSignature) throw chainError(`${where}: the TSA certificate's key usage lacks digitalSignature`);
  for (let i = 0; i < certs.length; i++) {
    const cert = certs[i] as X509;
    const parent = certs[i + 1] ?? cert;
    if (i > 0 && !cert.isCA) throw chainError(`${where}: certificate ${i + 1} issues the one before it but is not a CA certificate`);
    if (!cert.isSignedBy(parent)) {
      throw chainError(i + 1 < certs.length
        ? `${where}: certificate ${i + 1} is not issued by certificate ${i + 2}; order the chain from the TSA certificate up to the root`
        : `${where}: the last certificate is not a self-signed root`);
    }
    if (cert.notAfter <= now) throw new ServiceError(500, 'TSA_CERTIFICATE_EXPIRED', `${where}: certificate ${i + 1} expired at ${cert.notAfter.toISOString()}; issue a new one`);
  }
}

/** The TSA certificate for `spki`, issued by `root` with the profile RFC 3161 §2.3 asks for. */
async function issueTsaCertificate(root: { cert: X509; signer: CaSigner }, spki: Buffer, options: TsaChainOptions, now: Date): Promise<Buffer> {
  const notBefore = wholeSeconds(new Date(now.getTime() - BACKDATE));
  const wanted = now.getTime() + (options.leafValidityDays ?? 5 * 365) * DAY;
  const tbs = tbsCertificate({
    serialNumber: randomSerialNumber(),
    algorithm: root.signer.algorithm,
    issuer: parseCertificate(root.cert.der, 'the TSA root certificate').tbsCertificate.subject,
    subject: distinguishedName({ organization: options.organization ?? 'sigstack', commonName: options.commonName ?? 'sigstack-tsa' }),
    notBefore,
    notAfter: wholeSeconds(new Date(Math.min(wanted, root.cert.notAfter.getTime()))),
    spki,
    extensions: [
      extension(OID_KEY_USAGE, new KeyUsage(KeyUsageFlags.digitalSignature), true),
      extension(OID_EXT_KEY_USAGE, new ExtendedKeyUsage([OID_TIME_STAMPING]), true),
      subjectKeyIdExtension(spki),
      authorityKeyIdExtension(root.cert.subjectKeyIdentifier ?? keyIdentifier(root.cert.publicKeySpki)),
    ],
  });
  return signCertificate(tbs, root.signer);
}

function writeCertificate(path: string, certDer: Buffer): void {
  writeFileSync(path, pemEncode('CERTIFICATE', certDer), { mode: 0o644, flag: 'wx' });
}

/** The signing key: given, from keyPath, from the data directory (generated there once), or ephemeral. */
function tsaSigner(options: TsaChainOptions): { signer: CaSigner; created: boolean } {
  if (options.signer) return { signer: options.signer, created: false };
  if (options.keyPath !== undefined) return { signer: loadPemSigner(options.keyPath, { passphrase: options.password }), created: false };
  const type = options.keyType ?? 'P-256';
  if (options.dir !== undefined) {
    const path = join(options.dir, TSA_FILES.key);
    if (existsSync(path)) return { signer: loadPemSigner(path, { passphrase: options.password }), created: false };
    const pair = generateCaKey(type);
    writePrivateKeyPem(path, pair.privateKey, options.password);
    return { signer: keyObjectSigner(pair.privateKey, { description: `file:${path}`, publicKey: pair.publicKey, spki: pair.spki }), created: true };
  }
  const pair = generateCaKey(type);
  return { signer: keyObjectSigner(pair.privateKey, { description: `ephemeral ${type} key`, publicKey: pair.publicKey, spki: pair.spki }), created: true };
}

/** The generated root (key + self-signed certificate), loaded from `dir` or made now. */
async function tsaRoot(options: TsaChainOptions, now: Date): Promise<{ cert: X509; signer: CaSigner; created: boolean }> {
  const dir = options.dir;
  const keyPath = dir === undefined ? undefined : join(dir, TSA_FILES.rootKey);
  const certPath = dir === undefined ? undefined : join(dir, TSA_FILES.rootCert);
  const rootPassword = options.keyPath === undefined ? options.password : undefined;
  let signer: CaSigner;
  let created = false;
  if (keyPath !== undefined && existsSync(keyPath)) {
    signer = loadPemSigner(keyPath, { passphrase: rootPassword });
  } else {
    if (certPath !== undefined && existsSync(certPath)) {
      throw chainError(`${certPath} exists but its key ${TSA_FILES.rootKey} does not, and a TSA certificate must be issued: restore the root key, or move ${certPath} away to make a new TSA root`);
    }
    const pair = generateCaKey('P-384');
    if (keyPath !== undefined) writePrivateKeyPem(keyPath, pair.privateKey, rootPassword);
    signer = keyObjectSigner(pair.privateKey, { description: keyPath ? `file:${keyPath}` : 'ephemeral P-384 key', publicKey: pair.publicKey, spki: pair.spki });
    created = true;
  }
  if (certPath !== undefined && existsSync(certPath)) {
    const cert = readCertificates(certPath)[0] as X509;
    if (!cert.publicKeySpki.equals(signer.spki)) throw chainError(`${certPath} is not the certificate of ${TSA_FILES.rootKey} beside it: restore the matching key, or move both away`);
    if (!cert.isSelfIssued || !cert.isSignedBy(cert)) throw chainError(`${certPath} is not a self-signed root`);
    return { cert, signer, created };
  }
  const organization = options.organization ?? 'sigstack';
  const certDer = await buildCaCertificate({
    subject: { organization, commonName: `${organization}-tsa-root` },
    spki: signer.spki,
    signer,
    notBefore: new Date(now.getTime() - BACKDATE),
    notAfter: new Date(now.getTime() + (options.rootValidityDays ?? 3650) * DAY),
    pathLength: 0,
  });
  if (certPath !== undefined) writeCertificate(certPath, certDer);
  return { cert: X509.fromDer(certDer), signer, created: true };
}

/**
 * Loads the TSA's key and chain, creating what is missing: with `dir`, files there are made on
 * first start and reused after (a TSA certificate on disk is reused as long as it fits the key);
 * without it, everything is ephemeral. With `certChainPath`, that chain is used as it is.
 */
export async function loadOrCreateTsaChain(options: TsaChainOptions = {}): Promise<TsaChain> {
  const now = options.now ?? new Date();
  if (options.dir !== undefined) {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    const generated = options.signer === undefined && options.keyPath === undefined && options.certChainPath === undefined;
    if (generated && !existsSync(join(options.dir, TSA_FILES.key)) && existsSync(join(options.dir, TSA_FILES.cert))) {
      throw chainError(`${join(options.dir, TSA_FILES.cert)} exists but its key ${TSA_FILES.key} does not: restore the key, or move the certificate away to make a new TSA key`);
    }
  }
  const { signer, created: keyCreated } = tsaSigner(options);
  checkTsaSigner(signer);
  const result = (certificates: X509[], created: boolean): TsaChain => ({
    signer,
    certificates,
    chainPem: certificates.map((c) => pemEncode('CERTIFICATE', c.der)).join(''),
    created,
    ...(options.dir !== undefined ? { dir: options.dir } : {}),
  });

  if (options.certChainPath !== undefined) {
    const certs = readCertificates(options.certChainPath);
    checkTsaChain(certs, signer, options.certChainPath, now);
    return result(certs, keyCreated);
  }

  const certPath = options.dir === undefined ? undefined : join(options.dir, TSA_FILES.cert);
  const rootPath = options.dir === undefined ? undefined : join(options.dir, TSA_FILES.rootCert);
  if (certPath !== undefined && rootPath !== undefined && existsSync(certPath)) {
    if (!existsSync(rootPath)) throw chainError(`${certPath} exists but the root ${rootPath} does not: restore it, or move ${certPath} away to issue a new TSA certificate`);
    const leaf = readCertificates(certPath)[0] as X509;
    const root = readCertificates(rootPath)[0] as X509;
    if (!leaf.publicKeySpki.equals(signer.spki)) {
      throw chainError(`${certPath} certifies another key than the TSA key (${signer.description}): move ${certPath} away to issue a certificate for this key`);
    }
    checkTsaChain([leaf, root], signer, `${certPath} + ${rootPath}`, now);
    return result([leaf, root], keyCreated);
  }

  const root = await tsaRoot(options, now);
  const leafDer = await issueTsaCertificate(root, signer.spki, options, now);
  if (certPath !== undefined) writeCertificate(certPath, leafDer);
  const certs = [X509.fromDer(leafDer), root.cert];
  checkTsaChain(certs, signer, 'the generated TSA chain', now);
  return result(certs, true);
}

/**
 * A TSA key in an HSM over PKCS#11 (key label "PKCS11TSA" unless given), through the CA's PKCS#11
 * backend (native package pkcs11js); refuses keys other than ECDSA P-256 / P-384. `close()` ends its session.
 */
export async function loadPkcs11TsaSigner(options: Pkcs11SignerOptions): Promise<Pkcs11Signer> {
  let signer: Pkcs11Signer;
  try {
    signer = await loadPkcs11Signer({ keyLabel: 'PKCS11TSA', ...options });
  } catch (err) {
    if (err instanceof ServiceError && err.code === 'PKCS11_UNAVAILABLE') {
      throw new ServiceError(
        500,
        'PKCS11_UNAVAILABLE',
        `PKCS#11 TSA keys are not available in this build (${err.message}). Use a PEM key file for the TSA (keyPath, optionally encrypted with a password) or let it generate one in its data directory`,
        { cause: err },
      );
    }
    throw err;
  }
  try {
    checkTsaSigner(signer);
  } catch (err) {
    signer.close();
    throw err;
  }
  return signer;
}
