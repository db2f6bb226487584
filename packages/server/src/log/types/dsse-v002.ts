// dsse 0.0.2 (Rekor v2, deprecated upstream in favour of hashedrekord over the PAE; kept here as
// rekor-tiles had it): a DSSE envelope (protobuf JSON) and up to 10 verifiers; every signature must
// verify. The entry keeps the payload's SHA-256 and the signatures, sorted, with their verifiers.

import { verifyX509Signature } from '../pki/x509.js';
import { INTOTO_PAYLOAD_TYPE, IndexKeys, canonicalEntry, intotoDigests, matchEnvelopeSignatures, sha256, type EnvelopeSignature } from './common.js';
import { arr, invalid, obj, optStr, protoBytes } from './fields.js';
import { parseV2Verifier, pick, v2Request, type V2Verifier } from './v2-common.js';
import type { CanonicalEntry, EntryType } from './types.js';

const KIND = 'dsse';
const VERSION = '0.0.2';
const REQ = 'dsseRequestV002';
const MAX_VERIFIERS = 10;
const MAX_SIGNATURES = 10;

async function canonicalize(request: unknown): Promise<CanonicalEntry> {
  const req = v2Request(request, REQ, 'dsse_request_v002');
  const envelope = obj(pick(req, 'envelope'), `${REQ}.envelope`);
  const payloadValue = pick(envelope, 'payload');
  const payload = payloadValue === undefined || payloadValue === '' ? Buffer.alloc(0) : protoBytes(payloadValue, `${REQ}.envelope.payload`);
  const payloadType = optStr(pick(envelope, 'payloadType', 'payload_type'), `${REQ}.envelope.payloadType`) ?? '';
  const sigList = arr(pick(envelope, 'signatures'), `${REQ}.envelope.signatures`, MAX_SIGNATURES);
  const signatures = sigList.map((s, i): EnvelopeSignature => {
    const field = `${REQ}.envelope.signatures[${i}]`;
    const o = obj(s, field);
    optStr(pick(o, 'keyid'), `${field}.keyid`);
    const sig = protoBytes(pick(o, 'sig'), `${field}.sig`);
    return { id: sig.toString('base64'), sig };
  });
  const verifierList = arr(pick(req, 'verifiers'), `${REQ}.verifiers`, MAX_VERIFIERS);
  const verifiers: V2Verifier[] = verifierList.map((v, i) => parseV2Verifier(v, `${REQ}.verifiers[${i}]`));
  const seen = new Set<string>();
  verifiers.forEach((v, i) => {
    const id = v.raw.toString('base64');
    if (seen.has(id)) throw invalid(`${REQ}.verifiers[${i}] duplicates an earlier verifier`);
    seen.add(id);
  });

  const matched = await matchEnvelopeSignatures(
    payloadType,
    payload,
    signatures,
    verifiers,
    // The digest keyDetails names (RSA: PKCS#1 v1.5); Ed25519 keys verify the PAE itself.
    (pae, sig, v) => verifyX509Signature(pae, v.key.keyObject, sig, v.hash),
    { stopWhenAllMatched: true, keyName: (i) => `${REQ}.verifiers[${i}]` },
  );

  // Sorted by the raw signature bytes, as rekor-tiles orders them.
  const sorted = [...matched.entries()]
    .map(([id, v]) => ({ sig: Buffer.from(id, 'base64'), v }))
    .sort((a, b) => Buffer.compare(a.sig, b.sig));
  const payloadHash = sha256(payload);
  const spec = {
    dsseV002: {
      payloadHash: { algorithm: 'SHA2_256', digest: payloadHash.toString('base64') },
      signatures: sorted.map(({ sig, v }) => ({ content: sig.toString('base64'), verifier: v.json })),
    },
  };
  const index = new IndexKeys();
  for (const { v } of sorted) index.verifier(v.key);
  index.hash('sha256', payloadHash.toString('hex'));
  if (payloadType === INTOTO_PAYLOAD_TYPE) {
    for (const d of intotoDigests(payload)) index.hash(d.algorithm, d.value);
  }
  return canonicalEntry(KIND, VERSION, spec, index);
}

export const dsseV002: EntryType = { kind: KIND, apiVersion: VERSION, canonicalize };
