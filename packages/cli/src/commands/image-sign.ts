// `sigstack sign IMAGE` and `sigstack attest IMAGE --predicate P --type T`: resolve the tag to a
// digest once (that digest is what gets signed), sign with the same signer as files (keyless or
// --key, Rekor v1 or v2, TSA), and store the result where cosign looks: a sigstore bundle as an
// OCI 1.1 referrer (bundle layout), cosign ≤ 2's .sig/.att layers (legacy), or both.

import { readFileSync, writeFileSync } from 'node:fs';
import { INTOTO_PAYLOAD_TYPE, parseBundle, parseTrustedRootJson } from '@sigstack/core';
import {
  ANNOTATION,
  COSIGN_SIGN_PREDICATE_TYPE,
  DSSE_LAYER_MEDIA_TYPE,
  SIMPLE_SIGNING_MEDIA_TYPE,
  formatImageReference,
  legacyAnnotations,
  repositoryName,
  resolveImage,
  simpleSigningPayload,
  writeBundleAttachment,
  writeLegacyAttachment,
  type ImageReference,
  type ResolvedImage,
} from '@sigstack/oci';
import { buildStatement, bundleToText, type SignResult } from '@sigstack/sign';
import { TrustMaterial, Verifier, type VerifyPolicy } from '@sigstack/verify';
import { CliError } from '../errors.js';
import { imageReference, registryClient, takeRegistryFlags, type RegistryFlags } from './image-options.js';
import { createSigner, parseSignArgs, predicateType, readPredicate, type SignRequest } from './sign.js';

const status = (line: string) => process.stderr.write(`${line}\n`);

export interface ImageSignOutcome {
  digest: string;
  results: { layout: 'bundle' | 'legacy'; where: string; result: SignResult }[];
}

type Signer = ReturnType<typeof createSigner>;

/** Checks a new signature against --trusted-root before anything is pushed. */
async function checkAgainstRoot(request: SignRequest, signer: Signer, result: SignResult, payload: Buffer | undefined, digest: string, log: (line: string) => void): Promise<void> {
  if (!request.trustedRoot) return;
  let text: string;
  try {
    text = readFileSync(request.trustedRoot, 'utf8');
  } catch (err) {
    throw new CliError('TRUSTED_ROOT_UNREADABLE', `cannot read trusted root ${request.trustedRoot}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const policy: VerifyPolicy = signer.key ? { key: signer.key.publicKeyPem } : { identity: result.certificate?.subjectAltNames[0]?.value ?? '', issuer: result.certificate?.oidcIssuer ?? '' };
  const artifact = payload ? { kind: 'bytes' as const, data: payload } : { kind: 'digest' as const, algorithm: 'sha256' as const, digest: Buffer.from(digest.slice('sha256:'.length), 'hex') };
  try {
    await new Verifier(new TrustMaterial(parseTrustedRootJson(text))).verify(parseBundle(result.bundle), artifact, policy);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    throw new CliError(e.code ?? 'VERIFY_FAILED', `the new signature does not verify against ${request.trustedRoot}, so nothing was pushed: ${e.message ?? String(err)}`);
  }
  log(`Verified against ${request.trustedRoot}`);
}

function statementFor(ref: ImageReference, image: ResolvedImage, type: string, predicate: unknown): Buffer {
  return buildStatement([{ name: repositoryName(ref), digest: { sha256: image.digest.slice('sha256:'.length) } }], type, predicate);
}

export async function runImageSign(
  imageArg: string,
  request: SignRequest,
  flags: RegistryFlags,
  options: { attest?: { type: string; predicate: unknown }; bundleOut?: string; log?: (line: string) => void } = {},
): Promise<ImageSignOutcome> {
  const log = options.log ?? status;
  const ref = imageReference(imageArg);
  const client = registryClient(ref, flags);
  const image = await resolveImage(client, ref);
  const pinned = { ...ref, digest: image.digest };
  if (ref.digest === undefined) {
    log(`Resolved ${formatImageReference(ref)} to ${image.digest}: signing the digest (the tag may move later; the signature stays with this image)`);
  }
  const signer = createSigner(request, log);
  if (flags.layout !== 'bundle' && signer.services.tlogs.some((t) => t.majorApiVersion !== 1)) {
    throw new CliError('LEGACY_NEEDS_REKOR_V1', "cosign's legacy layout carries a Rekor v1 signed entry timestamp: sign with --rekor-version 1 (or a signing config with a v1 log), or use --registry-layout bundle");
  }
  const outcome: ImageSignOutcome = { digest: image.digest, results: [] };
  const repository = ref.repository;
  const type = options.attest ? options.attest.type : COSIGN_SIGN_PREDICATE_TYPE;

  if (flags.layout === 'bundle' || flags.layout === 'both') {
    const statement = statementFor(ref, image, type, options.attest ? options.attest.predicate : {});
    const result = await signer.signer.signDsse(statement, INTOTO_PAYLOAD_TYPE);
    await checkAgainstRoot(request, signer, result, undefined, image.digest, log);
    const bundleText = bundleToText(result.bundle);
    const written = await writeBundleAttachment(client, repository, image.descriptor, Buffer.from(bundleText, 'utf8'), {
      [ANNOTATION.created]: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      [ANNOTATION.bundleContent]: 'dsse-envelope',
      [ANNOTATION.bundlePredicateType]: type,
    });
    const where = written.fallbackTag
      ? `${ref.registry}/${repository}@${written.manifestDigest} (referrer of ${image.digest}, listed in the fallback tag ${written.fallbackTag}: the registry has no referrers API)`
      : `${ref.registry}/${repository}@${written.manifestDigest} (referrer of ${image.digest})`;
    log(`Pushed the sigstore bundle to ${where}`);
    if (options.bundleOut) {
      writeFileSync(options.bundleOut, bundleText);
      log(`Wrote bundle to ${options.bundleOut}`);
    }
    outcome.results.push({ layout: 'bundle', where, result });
  }

  if (flags.layout === 'legacy' || flags.layout === 'both') {
    let result: SignResult;
    let layer: { mediaType: string; data: Buffer; annotations: Record<string, string> };
    if (options.attest) {
      const statement = statementFor(ref, image, type, options.attest.predicate);
      result = await signer.signer.signDsse(statement, INTOTO_PAYLOAD_TYPE);
      await checkAgainstRoot(request, signer, result, undefined, image.digest, log);
      const envelope = result.bundle.dsseEnvelope!;
      const data = Buffer.from(JSON.stringify({ payloadType: envelope.payloadType, payload: envelope.payload, signatures: envelope.signatures }), 'utf8');
      layer = { mediaType: DSSE_LAYER_MEDIA_TYPE, data, annotations: { ...legacyAnnotations(result.bundle, result.chain), [ANNOTATION.predicateType]: type } };
    } else {
      const payload = simpleSigningPayload(repositoryName(pinned), image.digest);
      result = await signer.signer.signMessage(payload);
      await checkAgainstRoot(request, signer, result, payload, image.digest, log);
      layer = { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, data: payload, annotations: legacyAnnotations(result.bundle, result.chain) };
    }
    const written = await writeLegacyAttachment(client, repository, image.digest, options.attest ? 'att' : 'sig', layer);
    const where = `${ref.registry}/${repository}:${written.tag} (${written.layers} layer${written.layers === 1 ? '' : 's'})`;
    log(`Pushed the ${options.attest ? 'attestation' : 'signature'} to ${where}`);
    outcome.results.push({ layout: 'legacy', where, result });
  }
  return outcome;
}

/** `sign IMAGE` / `attest IMAGE`: the file commands' flags, plus the registry flags. */
export async function imageSignCommand(args: string[], attest: boolean): Promise<number> {
  const { flags, rest } = takeRegistryFlags(args);
  const bundleGiven = rest.some((a) => a === '--bundle' || a.startsWith('--bundle='));
  const request = parseSignArgs(rest, attest);
  const options: Parameters<typeof runImageSign>[3] = {};
  if (bundleGiven) options.bundleOut = request.bundle;
  if (request.content.kind === 'attest') {
    options.attest = { type: predicateType(request.content.type), predicate: readPredicate(request.content.predicate) };
  }
  await runImageSign(request.file, request, flags, options);
  return 0;
}
