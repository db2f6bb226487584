// intoto 0.0.1 (Rekor pkg/types/intoto/v0.0.1): a DSSE envelope (as JSON text) and one x509 key
// or certificate. At least one envelope signature must verify with the key; the body keeps the
// key's canonical PEM and the hashes of the envelope text and of the payload, not the envelope.

import { parseX509PublicKey, verifyX509Signature } from '../pki/x509.js';
import { INTOTO_PAYLOAD_TYPE, IndexKeys, canonicalEntry, intotoDigests, parseEnvelopeText, sha256, signatureInvalid } from './common.js';
import { b64, obj, str, v1Spec } from './fields.js';
import { preAuthEncoding } from '@sigstack/core';
import type { CanonicalEntry, EntryType } from './types.js';

const KIND = 'intoto';
const VERSION = '0.0.1';

async function canonicalize(proposed: unknown): Promise<CanonicalEntry> {
  const spec = v1Spec(proposed, KIND, VERSION);
  const key = parseX509PublicKey(b64(spec.publicKey, 'spec.publicKey'));
  const content = obj(spec.content, 'spec.content');
  const envelopeText = str(content.envelope, 'spec.content.envelope');
  const envelope = parseEnvelopeText(envelopeText, 'spec.content.envelope');

  // Rekor wraps the key in a DSSE verifier with threshold 1: one good signature suffices.
  const pae = preAuthEncoding(envelope.payloadType, envelope.payload);
  let verified = false;
  for (const s of envelope.signatures) {
    if (await verifyX509Signature(pae, key.keyObject, s.sig)) {
      verified = true;
      break;
    }
  }
  if (!verified) throw signatureInvalid('no envelope signature verifies over the DSSE PAE of the payload with spec.publicKey');

  const envelopeHash = sha256(Buffer.from(envelopeText, 'utf8')).toString('hex');
  const payloadHash = sha256(envelope.payload).toString('hex');
  const body = {
    content: {
      hash: { algorithm: 'sha256', value: envelopeHash },
      payloadHash: { algorithm: 'sha256', value: payloadHash },
    },
    publicKey: key.canonicalValue().toString('base64'),
  };
  const index = new IndexKeys().hash('sha256', envelopeHash).verifier(key).hash('sha256', payloadHash);
  if (envelope.payloadType === INTOTO_PAYLOAD_TYPE) {
    for (const d of intotoDigests(envelope.payload)) index.hash(d.algorithm, d.value);
  }
  return canonicalEntry(KIND, VERSION, body, index);
}

export const intotoV001: EntryType = { kind: KIND, apiVersion: VERSION, canonicalize };
