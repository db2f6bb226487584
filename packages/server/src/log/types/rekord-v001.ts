// rekord 0.0.1 (Rekor pkg/types/rekord/v0.0.1): a detached signature over an artifact sent
// inline, in any supported PKI format (x509, pgp, minisign, ssh). The artifact's SHA-256 is
// recomputed (and must match a given hash); the body keeps that hash, never the content.

import { pkiFormat } from '../pki/index.js';
import { HASH_MISMATCH, IndexKeys, canonicalEntry, sha256, signatureInvalid } from './common.js';
import { b64, hashAlgorithm, hexDigest, invalid, obj, optObj, str, v1Spec } from './fields.js';
import { badRequest } from '../../errors.js';
import type { CanonicalEntry, EntryType } from './types.js';

const KIND = 'rekord';
const VERSION = '0.0.1';
const FORMATS = ['pgp', 'minisign', 'x509', 'ssh'];

async function canonicalize(proposed: unknown): Promise<CanonicalEntry> {
  const spec = v1Spec(proposed, KIND, VERSION);
  const signature = obj(spec.signature, 'spec.signature');
  const formatName = str(signature.format, 'spec.signature.format');
  if (!FORMATS.includes(formatName)) throw invalid(`spec.signature.format must be one of ${FORMATS.join(', ')} (got ${JSON.stringify(formatName)})`);
  const sigBytes = b64(signature.content, 'spec.signature.content');
  const publicKey = obj(signature.publicKey, 'spec.signature.publicKey');
  const keyBytes = b64(publicKey.content, 'spec.signature.publicKey.content');
  const data = obj(spec.data, 'spec.data');
  if (data.content === undefined && data.url !== undefined) throw invalid('spec.data.url is not supported: send the artifact inline in spec.data.content');
  const content = b64(data.content, 'spec.data.content');
  const givenHash = optObj(data.hash, 'spec.data.hash');

  const computed = sha256(content).toString('hex');
  let hash = { algorithm: 'sha256', value: computed };
  if (givenHash) {
    const algorithm = hashAlgorithm(givenHash.algorithm, 'spec.data.hash.algorithm', ['sha256']);
    const value = str(givenHash.value, 'spec.data.hash.value');
    hexDigest(value, 'spec.data.hash.value', algorithm);
    if (value.toLowerCase() !== computed) {
      throw badRequest(HASH_MISMATCH, `spec.data.hash.value ${value} is not the SHA-256 of spec.data.content (${computed})`);
    }
    hash = { algorithm, value };
  }

  const format = pkiFormat(formatName);
  const key = format.parsePublicKey(keyBytes);
  const sig = format.parseSignature(sigBytes);
  if (!(await sig.verify(content, key))) {
    throw signatureInvalid(`signature does not verify over the given data with the given ${formatName} key`);
  }

  const body = {
    data: { hash },
    signature: {
      content: sig.canonicalValue().toString('base64'),
      format: formatName,
      publicKey: { content: key.canonicalValue().toString('base64') },
    },
  };
  const keys = new IndexKeys().verifier(key).hash(hash.algorithm, hash.value);
  return canonicalEntry(KIND, VERSION, body, keys);
}

export const rekordV001: EntryType = { kind: KIND, apiVersion: VERSION, canonicalize };
