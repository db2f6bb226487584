// hashedrekord 0.0.1 (Rekor pkg/types/hashedrekord/v0.0.1): a signature over an artifact digest
// with an x509 key or certificate. The signature is checked against the digest; the body keeps
// the signature, the key's canonical PEM and the digest as given.

import { parseX509PublicKey, verifyX509PrehashedSignature } from '../pki/x509.js';
import { IndexKeys, canonicalEntry, signatureInvalid } from './common.js';
import { b64, hashAlgorithm, hexDigest, obj, str, v1Spec } from './fields.js';
import type { CanonicalEntry, EntryType } from './types.js';

const KIND = 'hashedrekord';
const VERSION = '0.0.1';

async function canonicalize(proposed: unknown): Promise<CanonicalEntry> {
  const spec = v1Spec(proposed, KIND, VERSION);
  const signature = obj(spec.signature, 'spec.signature');
  const sigBytes = b64(signature.content, 'spec.signature.content');
  const publicKey = obj(signature.publicKey, 'spec.signature.publicKey');
  const keyBytes = b64(publicKey.content, 'spec.signature.publicKey.content');
  const data = obj(spec.data, 'spec.data');
  const hash = obj(data.hash, 'spec.data.hash');
  const algorithm = hashAlgorithm(hash.algorithm, 'spec.data.hash.algorithm', ['sha256', 'sha384', 'sha512']);
  const value = str(hash.value, 'spec.data.hash.value');
  const digest = hexDigest(value, 'spec.data.hash.value', algorithm);

  const key = parseX509PublicKey(keyBytes);
  if (!(await verifyX509PrehashedSignature(key, digest, algorithm, sigBytes))) {
    throw signatureInvalid(`signature does not verify over the given ${algorithm} digest with the given key`);
  }

  const body = {
    data: { hash: { algorithm, value } },
    signature: {
      content: sigBytes.toString('base64'),
      publicKey: { content: key.canonicalValue().toString('base64') },
    },
  };
  const keys = new IndexKeys().verifier(key).hash(algorithm, value);
  return canonicalEntry(KIND, VERSION, body, keys);
}

export const hashedrekordV001: EntryType = { kind: KIND, apiVersion: VERSION, canonicalize };
