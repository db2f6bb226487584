// The development OIDC issuer's signing key: read from a PEM file, or generated there on first
// start (PKCS#8 PEM, mode 0600) and reused after; ES256 (P-256) by default, RS256 on request.

import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { generateKeyPair, pemEncode } from '@sigstack/core';
import { ServiceError } from '../errors.js';

export type DevOidcAlgorithm = 'ES256' | 'RS256';

export interface DevSigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  alg: DevOidcAlgorithm;
  /** RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key. */
  kid: string;
  /** The public key as a JWK with kid, alg and use. */
  jwk: Record<string, unknown>;
}

/** The algorithm a private key signs with here; throws for keys it cannot use. */
function algorithmOf(key: KeyObject, where: string): DevOidcAlgorithm {
  if (key.asymmetricKeyType === 'rsa') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new ServiceError(500, 'KEY_INVALID', `${where}: RSA keys must have at least 2048 bits`);
    return 'RS256';
  }
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new ServiceError(500, 'KEY_INVALID', `${where}: the development OIDC issuer signs with ECDSA P-256 (ES256) or RSA (RS256) keys only`);
}

function thumbprint(jwk: JsonWebKeyLike): string {
  // RFC 7638: the required members in lexicographic order, no whitespace.
  const members = jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

type JsonWebKeyLike = { kty?: string; crv?: string; x?: string; y?: string; n?: string; e?: string };

/** A usable signing key from a private KeyObject or PEM text. */
export function devSigningKey(key: KeyObject | string, where = 'the development OIDC issuer key'): DevSigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = typeof key === 'string' ? createPrivateKey(key) : key;
  } catch (err) {
    throw new ServiceError(500, 'KEY_INVALID', `${where} is not a usable private key (PEM PKCS#8 / SEC1 / PKCS#1): ${(err as Error).message}`);
  }
  if (privateKey.type !== 'private') throw new ServiceError(500, 'KEY_INVALID', `${where} must be a private key`);
  const alg = algorithmOf(privateKey, where);
  const publicKey = createPublicKey(privateKey);
  const raw = publicKey.export({ format: 'jwk' }) as JsonWebKeyLike;
  const kid = thumbprint(raw);
  return { privateKey, publicKey, alg, kid, jwk: { ...raw, kid, alg, use: 'sig' } };
}

/** The key at `path`, generated there (mode 0600, directory 0700) when absent. */
export function loadOrCreateDevKey(path: string, alg: DevOidcAlgorithm = 'ES256'): DevSigningKey {
  if (existsSync(path)) {
    let pem: string;
    try {
      pem = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ServiceError(500, 'KEY_UNREADABLE', `cannot read key ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return devSigningKey(pem, `key ${path}`);
  }
  const pair = alg === 'RS256' ? generateKeyPair('rsa', { modulusLength: 2048 }) : generateKeyPair('ec', { namedCurve: 'P-256' });
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, pemEncode('PRIVATE KEY', pair.pkcs8), { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return devSigningKey(pair.privateKey, `key ${path}`);
}
