// cosign's simple-signing payload (containers-signature(5) JSON with cosign's `critical.type`):
// what a legacy-layout signature signs, and the check that it names the image being verified.

import { OciError } from './errors.js';

export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

export interface SimpleSigningPayload {
  critical: {
    identity: { 'docker-reference': string };
    image: { 'docker-manifest-digest': string };
    type: string;
  };
  optional: Record<string, unknown> | null;
}

/** The payload bytes for an image digest (field order as cosign writes it). */
export function simpleSigningPayload(dockerReference: string, digest: string, optional: Record<string, unknown> | null = null): Buffer {
  const payload: SimpleSigningPayload = {
    critical: { identity: { 'docker-reference': dockerReference }, image: { 'docker-manifest-digest': digest }, type: COSIGN_SIGNATURE_TYPE },
    optional,
  };
  return Buffer.from(JSON.stringify(payload), 'utf8');
}

/** Parses a signed payload and checks it is a cosign signature of `digest` (docker-reference is not checked, as in cosign). */
export function checkSimpleSigningPayload(bytes: Uint8Array, digest: string): SimpleSigningPayload {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new OciError('PAYLOAD_INVALID', `the signed payload is not JSON: ${(err as Error).message}`);
  }
  const payload = value as SimpleSigningPayload;
  const critical = payload?.critical;
  if (typeof critical !== 'object' || critical === null) throw new OciError('PAYLOAD_INVALID', 'the signed payload has no "critical" section');
  if (critical.type !== COSIGN_SIGNATURE_TYPE) {
    throw new OciError('PAYLOAD_INVALID', `the signed payload's critical.type is "${String(critical.type)}", not "${COSIGN_SIGNATURE_TYPE}"`);
  }
  const signed = critical.image?.['docker-manifest-digest'];
  if (signed !== digest) {
    throw new OciError('IMAGE_DIGEST_MISMATCH', `the signature is for image ${String(signed)}, not ${digest}: it was moved here from another image`);
  }
  return payload;
}
