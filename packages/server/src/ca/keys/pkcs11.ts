// The PKCS#11 (HSM) CA key backend's shape: its options, modelled on Fulcio's pkcs11ca (module,
// token, PIN, key label "PKCS11CA"), and a clear error until the optional native binding
// (npm package pkcs11js) is installed and wired to externalSigner.

import { ServiceError } from '../../errors.js';
import type { CaSignatureAlgorithm, CaSigner } from './signer.js';

/** The npm package a PKCS#11 backend needs (a native addon over the Cryptoki C API). */
export const PKCS11_PACKAGE = 'pkcs11js';

export interface Pkcs11SignerOptions {
  /** Path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so, or the HSM vendor's library). */
  modulePath: string;
  /** The token holding the key, by label (or `slot`). */
  tokenLabel?: string;
  slot?: number;
  /** The user PIN of the token. */
  pin: string;
  /** CKA_LABEL of the private key; Fulcio's default is "PKCS11CA". */
  keyLabel?: string;
  /** CKA_ID of the private key, when labels are ambiguous. */
  keyId?: Buffer;
  /** Defaults to the key's natural algorithm (e.g. ecdsa-with-SHA384 for P-384). */
  algorithm?: CaSignatureAlgorithm;
}

/**
 * What a PKCS#11 backend does once the binding is present: open a session on the token, log in,
 * find the private key (CKO_PRIVATE_KEY + label/id) and its public half (CKA_EC_POINT /
 * CKA_MODULUS), and sign with CKM_ECDSA_SHA256/384/512 (raw r‖s, turned into DER by
 * externalSigner) or CKM_SHA256_RSA_PKCS. It is not built yet.
 */
export async function loadPkcs11Signer(options: Pkcs11SignerOptions): Promise<CaSigner> {
  const where = `${options.modulePath}${options.tokenLabel ? ` token "${options.tokenLabel}"` : ''} key "${options.keyLabel ?? 'PKCS11CA'}"`;
  let bindingPresent = false;
  try {
    const name = PKCS11_PACKAGE;
    await import(name);
    bindingPresent = true;
  } catch {
    bindingPresent = false;
  }
  if (!bindingPresent) {
    throw new ServiceError(
      500,
      'PKCS11_UNAVAILABLE',
      `PKCS#11 CA keys (${where}) are not available in this build: install the optional package "${PKCS11_PACKAGE}" ` +
        '(npm install pkcs11js; it compiles a native addon) and a PKCS#11 module such as SoftHSM2, or use a PEM key file (optionally encrypted) instead',
    );
  }
  throw new ServiceError(
    500,
    'PKCS11_UNAVAILABLE',
    `"${PKCS11_PACKAGE}" is installed, but sigstack's PKCS#11 CA backend is not implemented yet (${where}): use a PEM key file (optionally encrypted) for now`,
  );
}
