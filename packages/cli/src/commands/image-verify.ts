// `sigstack verify IMAGE` and `sigstack verify-attestation IMAGE [--type T]`: find what is attached
// to the image's digest in both of cosign's layouts (bundle-layout referrers, legacy .sig/.att
// layers), verify each with the file verifier against the trusted root and policy, and print what
// cosign prints: the checks on stderr, the verified payloads on stdout. With --offline
// --local-image DIR, everything is read from an image layout on disk and no registry is touched.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseBundle, parseBundleJson, parseStatement, type Bundle } from '@sigstack/core';
import {
  ANNOTATION,
  COSIGN_SIGN_PREDICATE_TYPE,
  OciError,
  bundleFromLegacyLayer,
  checkSimpleSigningPayload,
  fallbackTag,
  formatImageReference,
  legacyTag,
  readBundleAttachments,
  readLegacyAttachments,
  resolveImage,
  type Attachment,
  type ImageReference,
  type ImageSource,
} from '@sigstack/oci';
import { TrustMaterial, Verifier, type VerificationResult, type VerifyPolicy } from '@sigstack/verify';
import { CliError } from '../errors.js';
import { imageReference, registryClient, takeRegistryFlags, REGISTRY_FLAGS_USAGE } from './image-options.js';
import { openLocalImage } from './local-image.js';
import { predicateType } from './sign.js';

export const IMAGE_VERIFY_USAGE = `usage: sigstack verify IMAGE (identity flags | --key KEY.pem) [--trusted-root F] [registry flags]
       sigstack verify-attestation IMAGE [--type T] (identity flags | --key KEY.pem) [--trusted-root F]
       sigstack verify --offline --local-image DIR [IMAGE] ...   (an OCI image layout or a skopeo dir: copy)

IMAGE is REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:HEX; a tag is resolved to its digest.
identity flags: (--certificate-identity I | --certificate-identity-regexp R)
                (--certificate-oidc-issuer U | --certificate-oidc-issuer-regexp R)
verify-attestation --type T keeps the attestations whose signed predicateType is T (a URI or
slsaprovenance, slsaprovenance1, spdxjson, cyclonedx, link, vuln, custom); without --type every
verified attestation is printed.
Signatures are looked for in both layouts: the bundle layout's referrers (referrers API and the
sha256-<hex> fallback tag) and the legacy sha256-<hex>.sig / .att tags. At least one must verify.
${REGISTRY_FLAGS_USAGE}`;

export interface ImageVerifyRequest {
  image?: string;
  attestation: boolean;
  type?: string;
  policy: VerifyPolicy;
  trustedRoot?: string;
  localImage?: string;
}

function usage(message: string): CliError {
  return new CliError('USAGE', `${message}\n${IMAGE_VERIFY_USAGE}`);
}

export function parseImageVerifyArgs(args: string[], attestation: boolean): ImageVerifyRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        'certificate-identity': { type: 'string' },
        'certificate-identity-regexp': { type: 'string' },
        'certificate-oidc-issuer': { type: 'string' },
        'certificate-oidc-issuer-regexp': { type: 'string' },
        key: { type: 'string' },
        'trusted-root': { type: 'string' },
        type: { type: 'string' },
        offline: { type: 'boolean' },
        'local-image': { type: 'string' },
      },
    });
  } catch (err) {
    throw usage((err as Error).message);
  }
  const v = parsed.values;
  if (parsed.positionals.length > 1) throw usage('expected one IMAGE');
  if (parsed.positionals.length === 0 && v['local-image'] === undefined) throw usage('expected an IMAGE (or --offline --local-image DIR)');
  if (v['local-image'] !== undefined && !v.offline) throw usage('--local-image reads an image from disk: give --offline with it (no registry is asked)');
  if (v.offline && v['local-image'] === undefined) throw usage('--offline verifies an image on disk: give --local-image DIR');
  if (v.type !== undefined && !attestation) throw usage('--type is for verify-attestation');
  const policy: VerifyPolicy = {};
  if (v.key !== undefined) {
    if (v['certificate-identity'] || v['certificate-identity-regexp'] || v['certificate-oidc-issuer'] || v['certificate-oidc-issuer-regexp']) {
      throw usage('--key verifies a managed key and takes no --certificate-* flags');
    }
    try {
      policy.key = readFileSync(v.key, 'utf8');
    } catch (err) {
      throw new CliError('KEY_UNREADABLE', `cannot read key ${v.key}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else {
    if ((v['certificate-identity'] === undefined) === (v['certificate-identity-regexp'] === undefined)) throw usage('give exactly one of --certificate-identity or --certificate-identity-regexp (or --key)');
    if ((v['certificate-oidc-issuer'] === undefined) === (v['certificate-oidc-issuer-regexp'] === undefined)) throw usage('give exactly one of --certificate-oidc-issuer or --certificate-oidc-issuer-regexp');
    if (v['certificate-identity'] !== undefined) policy.identity = v['certificate-identity'];
    if (v['certificate-identity-regexp'] !== undefined) policy.identityRegexp = v['certificate-identity-regexp'];
    if (v['certificate-oidc-issuer'] !== undefined) policy.issuer = v['certificate-oidc-issuer'];
    if (v['certificate-oidc-issuer-regexp'] !== undefined) policy.issuerRegexp = v['certificate-oidc-issuer-regexp'];
  }
  const request: ImageVerifyRequest = { attestation, policy };
  if (parsed.positionals[0] !== undefined) request.image = parsed.positionals[0];
  if (v.type !== undefined) request.type = predicateType(v.type);
  if (v['trusted-root'] !== undefined) request.trustedRoot = v['trusted-root'];
  if (v['local-image'] !== undefined) request.localImage = v['local-image'];
  return request;
}

/** One attachment that verified: what was signed and by whom. */
export interface VerifiedAttachment {
  attachment: Attachment;
  result: VerificationResult;
  /** The signed payload: the simple-signing JSON, or the in-toto statement. */
  payload: Buffer;
  predicateType?: string;
  envelope?: { payloadType: string; payload: string; signatures: { keyid: string; sig: string }[] };
}

function describeAttachment(a: Attachment): string {
  return a.layout === 'bundle' ? `bundle ${a.manifestDigest} (bundle layout, ${a.foundVia})` : `layer ${a.layer.digest} of ${a.tag} (legacy layout)`;
}

function asCode(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown };
  return { code: typeof e?.code === 'string' ? e.code : 'VERIFY_FAILED', message: typeof e?.message === 'string' ? e.message : String(err) };
}

function parseAttachmentBundle(a: Attachment): Bundle {
  try {
    return a.layout === 'bundle' ? parseBundleJson(a.bundle.toString('utf8')) : parseBundle(bundleFromLegacyLayer(a.layer, a.data));
  } catch (err) {
    if (err instanceof OciError) throw err;
    const e = asCode(err);
    throw new CliError(e.code, `${describeAttachment(a)} is not a valid signature: ${e.message}`);
  }
}

/** Verifies one attachment for `digest`; throws with a code when it does not verify. */
async function verifyAttachment(verifier: Verifier, a: Attachment, digest: string, policy: VerifyPolicy): Promise<VerifiedAttachment> {
  const bundle = parseAttachmentBundle(a);
  const imageDigest = { kind: 'digest' as const, algorithm: 'sha256' as const, digest: Buffer.from(digest.slice('sha256:'.length), 'hex') };
  if (bundle.content.kind === 'messageSignature') {
    if (a.layout !== 'legacy') throw new CliError('SIGNATURE_UNSUPPORTED', `${describeAttachment(a)} is a message signature, which does not name the image it signs`);
    const result = await verifier.verify(bundle, { kind: 'bytes', data: a.data }, policy);
    checkSimpleSigningPayload(a.data, digest);
    return { attachment: a, result, payload: a.data };
  }
  const result = await verifier.verify(bundle, imageDigest, policy);
  const envelope = bundle.content.envelope;
  const statement = parseStatement(envelope.payload);
  return {
    attachment: a,
    result,
    payload: envelope.payload,
    predicateType: statement.predicateType,
    envelope: {
      payloadType: envelope.payloadType,
      payload: envelope.payload.toString('base64'),
      signatures: envelope.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig.toString('base64') })),
    },
  };
}

export interface ImageVerifyOutcome {
  reference: string;
  digest: string;
  verified: VerifiedAttachment[];
}

async function openSource(request: ImageVerifyRequest, flags: ReturnType<typeof takeRegistryFlags>['flags']): Promise<{ source: ImageSource; ref: ImageReference }> {
  if (request.localImage) return openLocalImage(request.localImage, request.image);
  const ref = imageReference(request.image as string);
  return { source: registryClient(ref, flags), ref };
}

export async function runImageVerify(request: ImageVerifyRequest, flags = takeRegistryFlags([]).flags, log: (line: string) => void = () => {}): Promise<ImageVerifyOutcome> {
  const { source, ref } = await openSource(request, flags);
  const trust = request.trustedRoot ? TrustMaterial.fromFile(request.trustedRoot) : TrustMaterial.publicGood();
  const verifier = new Verifier(trust);
  const image = await resolveImage(source, ref);
  const pinned = request.localImage && request.image === undefined ? `${request.localImage}@${image.digest}` : formatImageReference({ ...ref, digest: image.digest });
  const repository = ref.repository;
  const attachments: Attachment[] = request.attestation
    ? [...(await readBundleAttachments(source, repository, image.digest)), ...(await readLegacyAttachments(source, repository, image.digest, 'att'))]
    : [...(await readBundleAttachments(source, repository, image.digest)), ...(await readLegacyAttachments(source, repository, image.digest, 'sig'))];
  // The bundle layout's predicateType annotation (unsigned) only routes: the signed statement decides below.
  const routed = attachments.filter((a) => {
    const annotated = a.layout === 'bundle' ? a.annotations[ANNOTATION.bundlePredicateType] : undefined;
    return annotated === undefined || (annotated === COSIGN_SIGN_PREDICATE_TYPE) !== request.attestation;
  });
  const what = request.attestation ? 'attestations' : 'signatures';
  const looked = `the referrers of ${image.digest} (referrers API and fallback tag ${fallbackTag(image.digest)}) and tag ${legacyTag(image.digest, request.attestation ? 'att' : 'sig')}`;

  const verified: VerifiedAttachment[] = [];
  const failures: { attachment: Attachment; code: string; message: string }[] = [];
  let candidates = 0;
  await Promise.all(
    routed.map(async (a) => {
      try {
        const v = await verifyAttachment(verifier, a, image.digest, request.policy);
        // A signature is a cosign sign statement (bundle layout) or a simple-signing payload;
        // everything else in the bundle layout is an attestation.
        const isSignature = v.predicateType === undefined || v.predicateType === COSIGN_SIGN_PREDICATE_TYPE;
        if (request.attestation === isSignature) return;
        candidates++;
        verified.push(v);
      } catch (err) {
        candidates++;
        failures.push({ attachment: a, ...asCode(err) });
      }
    }),
  );
  if (candidates === 0) {
    throw new CliError(request.attestation ? 'IMAGE_NO_ATTESTATIONS' : 'IMAGE_NO_SIGNATURES', `no ${what} found for ${pinned}: looked in ${looked} of ${source.describe(repository)}`);
  }
  if (verified.length === 0) {
    const first = failures[0] as (typeof failures)[number];
    const others = failures.length > 1 ? ` (and ${failures.length - 1} more ${what} that did not verify either)` : '';
    throw new CliError(first.code, `no ${what.slice(0, -1)} of ${pinned} verified; ${describeAttachment(first.attachment)}: ${first.message}${others}`);
  }
  for (const f of failures) log(`Skipped ${describeAttachment(f.attachment)}: [${f.code}] ${f.message}`);

  let kept = verified;
  if (request.attestation && request.type !== undefined) {
    kept = verified.filter((v) => v.predicateType === request.type);
    if (kept.length === 0) {
      const found = [...new Set(verified.map((v) => v.predicateType))].join(', ');
      throw new CliError('ATTESTATION_TYPE_MISMATCH', `none of the attestations matched the predicate type: ${request.type}, found: ${found}`);
    }
  }
  return { reference: pinned, digest: image.digest, verified: kept };
}

function checksText(outcome: ImageVerifyOutcome, request: ImageVerifyRequest): string {
  const keyless = request.policy.key === undefined;
  const lines = [
    `Verification for ${outcome.reference} --`,
    `The following checks were performed on each of these ${request.attestation ? 'attestations' : 'signatures'}:`,
    `  - The cosign claims were validated`,
    `  - Existence of the claims in the transparency log was verified offline`,
    keyless ? '  - The code-signing certificate was verified using trusted certificate authority certificates' : '  - The signatures were verified against the specified public key',
  ];
  for (const v of outcome.verified) {
    const who = v.result.identity === undefined ? 'the managed key' : `${v.result.identity} (issuer ${v.result.issuer ?? 'unknown'})`;
    const logs = v.result.tlogEntries.map((e) => `${e.logUrl} index ${e.logIndex}`).join(', ');
    lines.push(`Verified ${describeAttachment(v.attachment)}${v.predicateType && request.attestation ? ` [${v.predicateType}]` : ''}: signed by ${who}, logged at ${logs}`);
  }
  return `${lines.join('\n')}\n`;
}

/** cosign's stdout: the verified payloads as a JSON array (signatures), or one DSSE envelope per line (attestations). */
function payloadsText(outcome: ImageVerifyOutcome, request: ImageVerifyRequest): string {
  if (request.attestation) return outcome.verified.map((v) => `${JSON.stringify(v.envelope)}\n`).join('');
  const payloads = outcome.verified.map((v) => {
    const payload = JSON.parse(v.payload.toString('utf8')) as Record<string, unknown>;
    if (v.attachment.layout === 'legacy' && v.result.identity !== undefined) {
      payload.optional = { ...((payload.optional as Record<string, unknown> | null) ?? {}), Issuer: v.result.issuer, Subject: v.result.identity };
    }
    return payload;
  });
  return `${JSON.stringify(payloads)}\n`;
}

export async function imageVerifyCommand(args: string[], attestation: boolean): Promise<number> {
  const { flags, rest } = takeRegistryFlags(args);
  const request = parseImageVerifyArgs(rest, attestation);
  const outcome = await runImageVerify(request, flags, (line) => process.stderr.write(`${line}\n`));
  process.stderr.write(checksText(outcome, request));
  process.stdout.write(payloadsText(outcome, request));
  return 0;
}
