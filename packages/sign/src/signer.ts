// The signing flow: keyless (identity token → ephemeral key → proof of possession → certificate)
// or a managed key; sign the message or the DSSE envelope; timestamp and log it (in parallel,
// every selected TSA and log); build the v0.3 bundle. Status lines report each step.

import { createHash } from 'node:crypto';
import { X509, pemEncode, preAuthEncoding } from '@sigstack/core';
import { buildBundle, type BundleJson, type KeyMaterial, type SignedContent, type TlogEntryJson } from './bundle.js';
import { SignError } from './errors.js';
import { FulcioClient } from './fulcio.js';
import type { RetryOptions } from './http.js';
import { ephemeralSigner, publicKeyHint, type KeySigner } from './keys.js';
import { tlogClient, type EntryContent, type EntryVerifier } from './rekor.js';
import type { SigningServices } from './services.js';
import { describeIdentity, tokenSubject, type IdentityToken } from './tokens.js';
import { TimestampClient, type Timestamp } from './tsa.js';

export interface SignOptions {
  services: SigningServices;
  /** A managed key; without it, signing is keyless (needs `identityToken` and a CA). */
  key?: KeySigner;
  /** The identity token, or how to get it (asked only when keyless). */
  identityToken?: IdentityToken | (() => Promise<IdentityToken>);
  retry?: RetryOptions;
  /** Status lines (default: none). */
  log?: (line: string) => void;
}

export interface SignResult {
  bundle: BundleJson;
  /** The signing certificate (keyless). */
  certificate?: X509;
  /** The identity the certificate names (keyless). */
  identity?: string;
  /** The CA's chain above the certificate, DER (keyless). */
  chain?: Buffer[];
  tlogEntries: TlogEntryJson[];
  timestamps: Timestamp[];
}

interface PreparedKey {
  signer: KeySigner;
  material: KeyMaterial;
  verifier: EntryVerifier;
  certificate?: X509;
  identity?: string;
  chain?: Buffer[];
}

export class Signer {
  constructor(private readonly options: SignOptions) {}

  private log(line: string): void {
    this.options.log?.(line);
  }

  private async prepareKey(): Promise<PreparedKey> {
    const managed = this.options.key;
    if (managed) {
      const hint = publicKeyHint(managed.spki);
      return { signer: managed, material: { kind: 'publicKey', hint }, verifier: { kind: 'publicKey', spki: managed.spki, pem: managed.publicKeyPem, keyDetails: managed.keyDetails } };
    }
    const ca = this.options.services.ca;
    if (!ca) throw new SignError('CA_MISSING', 'keyless signing needs a certificate authority: pass --fulcio-url or a --signing-config with caUrls (or sign with --key)');
    const source = this.options.identityToken;
    if (!source) throw new SignError('TOKEN_MISSING', 'keyless signing needs an identity token: pass --identity-token or set SIGSTORE_ID_TOKEN');
    const token = typeof source === 'function' ? await source() : source;
    this.log(`Identity token from ${token.source}: ${describeIdentity(token.claims)}`);

    const signer = ephemeralSigner();
    const proofOfPossession = signer.sign(Buffer.from(tokenSubject(token.claims), 'utf8'));
    const issued = await new FulcioClient(ca.url, this.options.retry).createSigningCertificate({ token: token.token, publicKeyPem: signer.publicKeyPem, proofOfPossession }, signer.spki);
    const leaf = issued.leaf;
    const identity = leaf.subjectAltNames.map((s) => s.value).join(', ') || token.claims.sub;
    this.log(`Certificate for ${identity} from ${ca.url} (valid until ${leaf.notAfter.toISOString()})`);
    if (!issued.embeddedSct) this.log('Warning: the certificate has no embedded SCT; verifiers that require one will refuse the bundle');
    const der = leaf.der;
    return {
      signer,
      material: { kind: 'certificate', der },
      verifier: { kind: 'certificate', der, pem: pemEncode('CERTIFICATE', der), keyDetails: signer.keyDetails },
      certificate: leaf,
      identity,
      chain: issued.chain.slice(1),
    };
  }

  private async witness(prepared: PreparedKey, content: SignedContent, entry: EntryContent): Promise<SignResult> {
    const { services, retry } = this.options;
    if (services.tlogs.length === 0 && services.tsas.length === 0) {
      throw new SignError('NO_WITNESS', 'no transparency log and no timestamp authority to sign with: pass --rekor-url, --tsa-url or a --signing-config');
    }
    if (services.tsas.length === 0 && services.tlogs.some((t) => t.majorApiVersion === 2)) {
      this.log('Warning: Rekor v2 entries carry no signing time and no timestamp authority is configured; verifiers will need --tsa-url timestamps');
    }
    const signature = content.signature;
    const timestampsPromise = Promise.all(
      services.tsas.map(async (tsa) => {
        const ts = await new TimestampClient(tsa.url, retry).timestamp(signature);
        this.log(`Timestamp from ${tsa.url}: ${ts.token.genTime.toISOString()}`);
        return ts;
      }),
    );
    const entriesPromise = Promise.all(
      services.tlogs.map(async (tlog) => {
        const logged = await tlogClient(tlog.url, tlog.majorApiVersion, retry).logEntry(entry, prepared.verifier);
        this.log(`Logged in ${tlog.url} (Rekor v${tlog.majorApiVersion}) at index ${logged.logIndex}`);
        return logged;
      }),
    );
    // Both run at once; a failure of either is reported after both settle (no dangling promise).
    const [timestamps, entries] = await Promise.allSettled([timestampsPromise, entriesPromise]);
    if (timestamps.status === 'rejected') throw timestamps.reason;
    if (entries.status === 'rejected') throw entries.reason;
    const bundle = buildBundle(
      prepared.material,
      content,
      entries.value,
      timestamps.value.map((t) => t.der),
    );
    const result: SignResult = { bundle, tlogEntries: entries.value, timestamps: timestamps.value };
    if (prepared.certificate) result.certificate = prepared.certificate;
    if (prepared.identity) result.identity = prepared.identity;
    if (prepared.chain) result.chain = prepared.chain;
    return result;
  }

  /** Signs a message (an artifact's bytes): a messageSignature bundle with a hashedrekord entry. */
  async signMessage(data: Uint8Array): Promise<SignResult> {
    if (this.options.key && this.options.key.hash === null) {
      throw new SignError('KEY_UNSUPPORTED', 'Ed25519 keys sign the whole message, which a hashedrekord entry cannot check: use attest (DSSE) or an ECDSA key');
    }
    const prepared = await this.prepareKey();
    const algorithm = prepared.signer.hash ?? 'sha256';
    const digest = createHash(algorithm).update(data).digest();
    const signature = prepared.signer.sign(data);
    return this.witness(prepared, { kind: 'message', algorithm, digest, signature }, { kind: 'hashedrekord', algorithm, digest, signature });
  }

  /** Signs a DSSE envelope over `payload` (e.g. an in-toto statement) with a dsse entry. */
  async signDsse(payload: Uint8Array, payloadType: string): Promise<SignResult> {
    const prepared = await this.prepareKey();
    const body = Buffer.from(payload);
    const signature = prepared.signer.sign(preAuthEncoding(payloadType, body));
    return this.witness(prepared, { kind: 'dsse', payloadType, payload: body, signature }, { kind: 'dsse', payloadType, payload: body, signature });
  }
}
