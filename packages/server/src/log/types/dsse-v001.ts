// dsse 0.0.1 (Rekor pkg/types/dsse/v0.0.1): a DSSE envelope with the keys or certificates that
// verify it. Every envelope signature must verify over the PAE; the body keeps only the
// envelope and payload hashes and the signatures (sorted) with the canonical PEM verifier.

import { verifyX509Signature, parseX509PublicKey, type X509PublicKey } from '../pki/x509.js';
import { INTOTO_PAYLOAD_TYPE, IndexKeys, canonicalEntry, intotoDigests, matchEnvelopeSignatures, parseEnvelopeText, sha256 } from './common.js';
import { arr, b64, invalid, obj, str, v1Spec } from './fields.js';
import type { CanonicalEntry, EntryType } from './types.js';

const KIND = 'dsse';
const VERSION = '0.0.1';

async function canonicalize(proposed: unknown): Promise<CanonicalEntry> {
  const spec = v1Spec(proposed, KIND, VERSION);
  if (spec.signatures !== undefined || spec.envelopeHash !== undefined || spec.payloadHash !== undefined) {
    throw invalid('spec.signatures, spec.envelopeHash and spec.payloadHash are computed by the log; send only spec.proposedContent');
  }
  const content = obj(spec.proposedContent, 'spec.proposedContent');
  const envelopeText = str(content.envelope, 'spec.proposedContent.envelope');
  const verifierList = arr(content.verifiers, 'spec.proposedContent.verifiers');
  const envelope = parseEnvelopeText(envelopeText, 'spec.proposedContent.envelope');
  const keys: X509PublicKey[] = verifierList.map((v, i) => parseX509PublicKey(b64(v, `spec.proposedContent.verifiers[${i}]`)));

  const matched = await matchEnvelopeSignatures(
    envelope.payloadType,
    envelope.payload,
    envelope.signatures,
    keys,
    (pae, sig, key) => verifyX509Signature(pae, key.keyObject, sig),
    { stopWhenAllMatched: true, keyName: (i) => `spec.proposedContent.verifiers[${i}]` },
  );

  const sorted = [...matched.keys()].sort();
  const payloadHash = sha256(envelope.payload).toString('hex');
  const envelopeHash = sha256(Buffer.from(envelopeText, 'utf8')).toString('hex');
  const body = {
    envelopeHash: { algorithm: 'sha256', value: envelopeHash },
    payloadHash: { algorithm: 'sha256', value: payloadHash },
    signatures: sorted.map((signature) => ({ signature, verifier: matched.get(signature)!.canonicalValue().toString('base64') })),
  };

  const index = new IndexKeys();
  for (const signature of sorted) index.verifier(matched.get(signature)!);
  index.hash('sha256', payloadHash).hash('sha256', envelopeHash);
  if (envelope.payloadType === INTOTO_PAYLOAD_TYPE) {
    for (const d of intotoDigests(envelope.payload)) index.hash(d.algorithm, d.value);
  }
  return canonicalEntry(KIND, VERSION, body, index);
}

export const dsseV001: EntryType = { kind: KIND, apiVersion: VERSION, canonicalize };
