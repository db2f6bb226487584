// The verifier: a bundle, the artifact and a policy against a trusted root, checked in the
// sigstore client order (timestamps → signing key or certificate chain at those times, with
// SCTs → log entries → signature → identity). Independent signature checks run at once on
// the thread pool; their failures are reported in that order, never all at once.

import type { KeyObject } from 'node:crypto';
import { X509, bundleSignature, type Bundle, type Statement } from '@sigstack/core';
import { verifyCertificatePath } from './certificate.js';
import { VerificationError, asVerificationError, fail } from './errors.js';
import { ManagedKeys } from './managed-keys.js';
import { verifyIdentity, type IdentityPolicy } from './policy.js';
import { verifyEmbeddedScts } from './sct.js';
import { verifyContentSignature, verifyDsseSubject, verifyPredicateType } from './signature-check.js';
import { fulcioExtensions, verifyExtensions, type ExtensionRequirement } from './fulcio-extensions.js';
import { signedContent, type Artifact } from './signed-content.js';
import { verifyRfc3161Timestamps } from './timestamps.js';
import { verifyEntryBody, type Signer } from './tlog-bodies.js';
import { trustedLogFor, verifyInclusionProof, verifySignedEntryTimestamp } from './tlog.js';
import { validAt, type TrustMaterial } from './trust-material.js';

export interface VerifyPolicy extends IdentityPolicy {
  /** A managed public key (PEM) instead of a certificate identity. */
  key?: string | KeyObject;
  /** Certificate extensions that must hold these values (cosign's --certificate-github-workflow-*). */
  extensions?: ExtensionRequirement[];
  /** For DSSE bundles: the in-toto statement's predicateType must be this URI (cosign's --type). */
  predicateType?: string;
}

export interface VerificationResult {
  /** The certificate identity (SAN) that signed, or undefined for a managed key. */
  identity: string | undefined;
  issuer: string | undefined;
  /** Every verified signing time (TSA and log), earliest first. */
  signedAt: Date[];
  tlogEntries: { logUrl: string; logIndex: number }[];
  /** The signing certificate's Fulcio extensions by name (absent for a managed key). */
  certificateExtensions?: Record<string, string>;
  /** For DSSE bundles with an in-toto payload: the verified statement. */
  statement?: Statement;
}

export interface VerifierOptions {
  tlogThreshold?: number;
  ctlogThreshold?: number;
  timestampThreshold?: number;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Wraps a promise so a failure is held until asked for, never an unhandled rejection. */
function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

async function unwrap<T>(settled: Promise<Settled<T>>): Promise<T> {
  const result = await settled;
  if (!result.ok) throw result.error;
  return result.value;
}

export class Verifier {
  private readonly options: Required<VerifierOptions>;
  private readonly managedKeys = new ManagedKeys();

  constructor(
    readonly trust: TrustMaterial,
    options: VerifierOptions = {},
  ) {
    this.options = { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1, ...options };
  }

  /** Verifies; throws VerificationError with a code on the first failed check. */
  async verify(bundle: Bundle, artifact: Artifact | undefined, policy: VerifyPolicy): Promise<VerificationResult> {
    try {
      return await this.run(bundle, artifact, policy);
    } catch (err) {
      throw asVerificationError(err);
    }
  }

  private async run(bundle: Bundle, artifact: Artifact | undefined, policy: VerifyPolicy): Promise<VerificationResult> {
    const trust = this.trust;
    const content = signedContent(bundle, artifact);
    const signature = bundleSignature(bundle.content);

    // What signed: a certificate (keyless) or a managed key.
    let leaf: X509 | undefined;
    let signer: Signer;
    const material = bundle.keyMaterial;
    if (policy.key !== undefined) {
      if (material.kind !== 'publicKey') {
        fail('KEY_MATERIAL_MISMATCH', 'this bundle was signed with a certificate: verify it with --certificate-identity and --certificate-oidc-issuer, not --key');
      }
      signer = this.managedKeys.signerFor(policy.key);
    } else {
      if (material.kind === 'publicKey') fail('KEY_REQUIRED', 'this bundle was signed with a managed key: verify it with --key');
      const der = material.kind === 'certificate' ? material.certificate : material.certificates[0];
      if (!der) fail('BUNDLE_INVALID', 'the bundle has no signing certificate');
      const certificate = X509.fromDer(der);
      leaf = certificate;
      // The KeyObject is made only if a check needs one (ECDSA is checked from the key's point).
      signer = { get publicKey() { return certificate.publicKey; }, spki: certificate.publicKeySpki, certificate };
    }

    // 1. Timestamps: RFC 3161 tokens, and the integrated times that signed entry timestamps vouch for.
    const entries = bundle.tlogEntries.map((entry) => ({ entry, log: settle(Promise.resolve().then(() => trustedLogFor(entry, trust))) }));
    const tsaTimes = settle(verifyRfc3161Timestamps(bundle.rfc3161Timestamps, signature, trust));
    const setTimes = entries
      .filter(({ entry }) => entry.inclusionPromise)
      .map(({ entry, log }) => settle(unwrap(log).then((l) => verifySignedEntryTimestamp(entry, l))));
    const allTimes = settle(
      (async () => {
        const tsa = await unwrap(tsaTimes);
        const times: Date[] = [...tsa.times];
        for (const t of setTimes) times.push(await unwrap(t));
        if (times.length < this.options.timestampThreshold) {
          // Skipped timestamps explain the shortfall best: report the first one's reason.
          const [first] = tsa.skipped;
          if (first instanceof VerificationError) {
            fail(first.code, `${first.message} (${times.length} verifiable signing time(s), ${this.options.timestampThreshold} required)`);
          }
          fail('TIMESTAMP_MISSING', `the bundle has ${times.length} verifiable signing time(s) but ${this.options.timestampThreshold} is required: it needs an RFC 3161 timestamp or a log entry with a signed entry timestamp`);
        }
        return times.sort((a, b) => a.getTime() - b.getTime());
      })(),
    );

    // 2. The signing certificate at those times, with its SCTs (started now, checked in order below).
    const path = leaf ? settle(verifyCertificatePath(leaf, () => unwrap(allTimes), trust)) : undefined;
    const scts = leaf && path ? settle(unwrap(path).then((p) => verifyEmbeddedScts(leaf, p.path[1] as X509, trust, this.options.ctlogThreshold))) : undefined;

    // 3. Log entries: inclusion proofs (the signed entry timestamps are checked above).
    const proofs = entries.map(({ entry, log }) =>
      entry.inclusionProof?.checkpoint ? settle(unwrap(log).then((l) => verifyInclusionProof(entry, l))) : undefined,
    );

    // 4. The signature itself.
    const signatureOk = settle(verifyContentSignature(content, signer));

    // Now collect, in order.
    const times = await unwrap(allTimes);
    if (path) await unwrap(path);
    if (scts) await unwrap(scts);

    if (entries.length < this.options.tlogThreshold) {
      fail('TLOG_MISSING', `the bundle has ${entries.length} transparency log entries but ${this.options.tlogThreshold} is required`);
    }
    const tlogEntries: VerificationResult['tlogEntries'] = [];
    for (const [i, { entry, log }] of entries.entries()) {
      const trustedLog = await unwrap(log);
      const proof = proofs[i];
      if (!entry.inclusionPromise && !proof) {
        fail('TLOG_INCLUSION_PROOF_MISSING', `log entry ${entry.logIndex} has neither an inclusion proof with a checkpoint nor a signed entry timestamp`);
      }
      if (proof) await unwrap(proof);
      if (!entry.inclusionPromise) {
        // No integrated time is vouched for: the log key must be trusted at the verified signing times.
        for (const time of times) {
          if (!validAt(trustedLog.validFor, time)) {
            fail('TLOG_KEY_NOT_VALID', `the key of log ${trustedLog.baseUrl} was not trusted at the signing time ${time.toISOString()}`);
          }
        }
      }
      verifyEntryBody(entry.canonicalizedBody, entry.kindVersion, content, signer);
      tlogEntries.push({ logUrl: trustedLog.baseUrl, logIndex: entry.logIndex });
    }

    if (!(await unwrap(signatureOk))) {
      fail('SIGNATURE_INVALID', content.kind === 'dsse'
        ? 'the DSSE envelope\'s signature does not verify under the signing key'
        : 'the signature does not verify over this artifact with the signing key');
    }
    const statement = content.kind === 'dsse' ? verifyDsseSubject(content) : undefined;
    if (policy.predicateType !== undefined) verifyPredicateType(statement, policy.predicateType);

    const identity = leaf ? verifyIdentity(leaf, policy) : { identity: undefined, issuer: undefined };
    if (policy.extensions?.length) {
      if (!leaf) fail('KEY_MATERIAL_MISMATCH', 'certificate extension checks need a certificate-signed bundle, not a managed key');
      verifyExtensions(leaf, policy.extensions);
    }
    const result: VerificationResult = { identity: identity.identity, issuer: identity.issuer, signedAt: times, tlogEntries };
    if (leaf) result.certificateExtensions = fulcioExtensions(leaf);
    if (statement) result.statement = statement;
    return result;
  }
}
