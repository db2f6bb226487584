// intoto 0.0.2 (Rekor pkg/types/intoto/v0.0.2): a DSSE envelope inlined as JSON whose payload and
// signatures are base64 of the envelope's own base64 text, each signature with its x509 key.
// Every signature must verify; the body keeps the signatures, payloadType and hashes, not the payload.

import { parseX509PublicKey, verifyX509Signature, type X509PublicKey } from '../pki/x509.js';
import { INTOTO_PAYLOAD_TYPE, IndexKeys, canonicalEntry, decodeEnvelopeBase64, intotoDigests, matchEnvelopeSignatures, sha256, type EnvelopeSignature } from './common.js';
import { arr, b64, hashAlgorithm, hexDigest, invalid, obj, optStr, str, v1Spec } from './fields.js';
import type { CanonicalEntry, EntryType } from './types.js';

const KIND = 'intoto';
const VERSION = '0.0.2';

interface SignatureItem {
  keyid: string;
  /** The decoded `sig` field: the envelope signature's base64 text. */
  sigText: Buffer;
  /** The decoded `publicKey` field: PEM as given. */
  keyBytes: Buffer;
  key: X509PublicKey;
  signature: EnvelopeSignature;
}

async function canonicalize(proposed: unknown): Promise<CanonicalEntry> {
  const spec = v1Spec(proposed, KIND, VERSION);
  const content = obj(spec.content, 'spec.content');
  const envelope = obj(content.envelope, 'spec.content.envelope');
  const payloadType = str(envelope.payloadType, 'spec.content.envelope.payloadType');
  // payload: base64 (JSON `format: byte`) of the DSSE payload's base64 text.
  const payloadText = b64(envelope.payload, 'spec.content.envelope.payload').toString('latin1');
  const payload = decodeEnvelopeBase64(payloadText, 'spec.content.envelope.payload (base64 inside base64)', false);
  const list = arr(envelope.signatures, 'spec.content.envelope.signatures');
  const items = list.map((item, i): SignatureItem => {
    const field = `spec.content.envelope.signatures[${i}]`;
    const s = obj(item, field);
    const keyid = optStr(s.keyid, `${field}.keyid`) ?? '';
    const sigText = b64(s.sig, `${field}.sig`);
    const sig = decodeEnvelopeBase64(sigText.toString('latin1'), `${field}.sig (base64 inside base64)`, false);
    const keyBytes = b64(s.publicKey, `${field}.publicKey`);
    const key = parseX509PublicKey(keyBytes);
    return { keyid, sigText, keyBytes, key, signature: { id: String(i), sig } };
  });
  const hash = obj(content.hash, 'spec.content.hash');
  const hashAlg = hashAlgorithm(hash.algorithm, 'spec.content.hash.algorithm', ['sha256']);
  const hashValue = str(hash.value, 'spec.content.hash.value');
  hexDigest(hashValue, 'spec.content.hash.value', hashAlg);
  if (content.payloadHash !== undefined && (typeof content.payloadHash !== 'object' || content.payloadHash === null)) {
    throw invalid('spec.content.payloadHash must be an object (it is recomputed by the log anyway)');
  }

  await matchEnvelopeSignatures(
    payloadType,
    payload,
    items.map((it) => it.signature),
    items.map((it) => it.key),
    (pae, sig, key) => verifyX509Signature(pae, key.keyObject, sig),
    { stopWhenAllMatched: false, keyName: (i) => `spec.content.envelope.signatures[${i}].publicKey` },
  );

  const payloadHash = sha256(payload).toString('hex');
  const body = {
    content: {
      envelope: {
        payloadType,
        signatures: items.map((it) => ({
          ...(it.keyid ? { keyid: it.keyid } : {}),
          publicKey: it.keyBytes.toString('base64'),
          sig: it.sigText.toString('base64'),
        })),
      },
      hash: { algorithm: hashAlg, value: hashValue },
      payloadHash: { algorithm: 'sha256', value: payloadHash },
    },
  };
  const index = new IndexKeys();
  for (const it of items) index.verifier(it.key);
  index.hash('sha256', payloadHash);
  if (payloadType === INTOTO_PAYLOAD_TYPE) {
    for (const d of intotoDigests(payload)) index.hash(d.algorithm, d.value);
  }
  return canonicalEntry(KIND, VERSION, body, index);
}

export const intotoV002: EntryType = { kind: KIND, apiVersion: VERSION, canonicalize };
