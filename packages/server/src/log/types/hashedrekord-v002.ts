// hashedrekord 0.0.2 (Rekor v2 / rekor-tiles): a digest and one signature with its verifier (DER
// key or certificate and keyDetails). The digest algorithm comes from keyDetails; the entry is
// the protobuf-JSON Entry {kind, apiVersion, spec: {hashedRekordV002: {data, signature}}}.

import { verifyX509PrehashedSignature } from '../pki/x509.js';
import { IndexKeys, canonicalEntry, signatureInvalid } from './common.js';
import { HASH_SIZE, invalid, obj, protoBytes } from './fields.js';
import { ALGORITHM_UNSUPPORTED, PROTO_HASH, parseV2Verifier, pick, v2Request } from './v2-common.js';
import { badRequest } from '../../errors.js';
import type { CanonicalEntry, EntryType } from './types.js';

const KIND = 'hashedrekord';
const VERSION = '0.0.2';
const REQ = 'hashedRekordRequestV002';

async function canonicalize(request: unknown): Promise<CanonicalEntry> {
  const req = v2Request(request, REQ, 'hashed_rekord_request_v002');
  const signature = obj(pick(req, 'signature'), `${REQ}.signature`);
  const content = protoBytes(pick(signature, 'content'), `${REQ}.signature.content`);
  const verifier = parseV2Verifier(pick(signature, 'verifier'), `${REQ}.signature.verifier`);
  const digest = protoBytes(pick(req, 'digest'), `${REQ}.digest`);

  const hash = verifier.hash;
  if (hash === null) {
    throw badRequest(ALGORITHM_UNSUPPORTED, `keyDetails ${verifier.keyDetails} signs messages, not digests; hashedrekord needs a signature over a digest (use ECDSA or RSA)`);
  }
  if (verifier.key.info.type === 'ed25519') {
    throw badRequest(ALGORITHM_UNSUPPORTED, `keyDetails ${verifier.keyDetails} (Ed25519ph) is not supported by this log; use an ECDSA or RSA key`);
  }
  if (digest.length !== HASH_SIZE[hash]) {
    throw invalid(`${REQ}.digest is ${digest.length} bytes, but ${verifier.keyDetails} signs a ${hash} digest of ${HASH_SIZE[hash]} bytes`);
  }
  if (!(await verifyX509PrehashedSignature(verifier.key, digest, hash, content))) {
    throw signatureInvalid(`signature does not verify over the given ${hash} digest with the given key`);
  }

  const spec = {
    hashedRekordV002: {
      data: { algorithm: PROTO_HASH[hash], digest: digest.toString('base64') },
      signature: { content: content.toString('base64'), verifier: verifier.json },
    },
  };
  const keys = new IndexKeys().verifier(verifier.key).hash(hash, digest.toString('hex'));
  return canonicalEntry(KIND, VERSION, spec, keys);
}

export const hashedrekordV002: EntryType = { kind: KIND, apiVersion: VERSION, canonicalize };
