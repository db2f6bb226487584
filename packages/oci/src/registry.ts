// A client of the OCI distribution API (v2): manifests, blobs (monolithic upload), the referrers
// API; Docker's token auth (a Bearer challenge answered by the realm's token server, with basic
// credentials when there are some) and basic auth. HTTPS, and plain HTTP only for a loopback
// registry or with `allowInsecure`. Every error names the registry, the repository and the status.

import { createHash } from 'node:crypto';
import { OciError } from './errors.js';
import { dockerConfigCredentials, parseChallenge, type Credentials } from './credentials.js';
import { MANIFEST_ACCEPT, OCI_INDEX, parseImageIndex, type ImageIndex } from './manifests.js';
import { isLoopbackRegistry, registryApiHost } from './reference.js';
import type { FetchedManifest, ImageSource } from './source.js';
import { Transport, type TransportResponse } from './transport.js';

export const USER_AGENT = 'sigstack-oci/0.1.0';
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const TIMEOUT_MS = 30_000;

export interface RegistryOptions {
  /** Explicit credentials (--registry-username/--registry-password); else Docker's config file. */
  credentials?: Credentials;
  /** Docker's config file to read credentials from (default $DOCKER_CONFIG or ~/.docker); false: none. */
  dockerConfig?: string | false;
  /** Plain HTTP, and HTTPS without certificate checks, for any registry (--allow-insecure-registry). */
  allowInsecure?: boolean;
}

interface RequestInit {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  push?: boolean;
}

function errorDetail(body: Buffer): string {
  const text = body.toString('utf8').trim();
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string; detail?: unknown }[] };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
      return parsed.errors.map((e) => [e.code, e.message, e.detail === undefined ? undefined : JSON.stringify(e.detail)].filter(Boolean).join(': ')).join('; ');
    }
  } catch {
    // not JSON: the text itself
  }
  return text.slice(0, 300) || '(no body)';
}

function causeOf(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string; code?: string } };
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

function readLimited(response: TransportResponse, max: number, what: string): Promise<Buffer> {
  return response.read(max, what);
}

export class RegistryClient implements ImageSource {
  private readonly host: string;
  private scheme: 'https' | 'http' | undefined;
  private readonly credentials: Credentials | undefined;
  /** Authorization header values by scope ("" for basic auth). */
  private readonly authorizations = new Map<string, string>();
  private readonly transport: Transport;

  constructor(
    readonly registry: string,
    private readonly options: RegistryOptions = {},
  ) {
    this.host = registryApiHost(registry);
    this.credentials = options.credentials ?? (options.dockerConfig === false ? undefined : dockerConfigCredentials(registry, options.dockerConfig));
    this.transport = new Transport(options.allowInsecure === true, TIMEOUT_MS);
  }

  describe(repository: string): string {
    return `registry ${this.registry}, repository ${repository}`;
  }

  private fail(code: string, repository: string, message: string, status?: number, cause?: unknown): OciError {
    return new OciError(code, `${this.describe(repository)}: ${message}`, { registry: this.registry, repository, ...(status !== undefined ? { status } : {}), cause });
  }

  private httpAllowed(): boolean {
    return isLoopbackRegistry(this.registry) || this.options.allowInsecure === true;
  }

  /** A request over the registry's scheme: HTTPS first; HTTP when HTTPS cannot connect and HTTP is allowed. */
  private async send(repository: string, init: RequestInit, headers: Record<string, string>): Promise<TransportResponse> {
    const attempt = (scheme: 'https' | 'http') =>
      this.transport.send({ url: new URL(`${scheme}://${this.host}${init.path}`), method: init.method, headers, ...(init.body ? { body: init.body } : {}) });
    if (this.scheme) {
      try {
        return await attempt(this.scheme);
      } catch (err) {
        throw this.fail('REGISTRY_UNREACHABLE', repository, `${init.method} ${init.path} failed: ${causeOf(err)}`, undefined, err);
      }
    }
    try {
      const response = await attempt('https');
      this.scheme = 'https';
      return response;
    } catch (httpsError) {
      // A registry speaking TLS with a certificate we do not trust: say so (HTTP would not help).
      const code = (httpsError as { code?: unknown }).code;
      if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|UNABLE_TO_GET_ISSUER/.test(code)) {
        throw this.fail('REGISTRY_TLS_UNTRUSTED', repository, `the TLS certificate of https://${this.host} is not trusted (${code}): trust its CA (NODE_EXTRA_CA_CERTS=ca.pem) or pass --allow-insecure-registry to skip the check`, undefined, httpsError);
      }
      if (!this.httpAllowed()) {
        throw this.fail('REGISTRY_UNREACHABLE', repository, `cannot reach https://${this.host}: ${causeOf(httpsError)} (plain HTTP is used only for loopback registries or with --allow-insecure-registry)`, undefined, httpsError);
      }
      try {
        const response = await attempt('http');
        this.scheme = 'http';
        return response;
      } catch (err) {
        throw this.fail('REGISTRY_UNREACHABLE', repository, `cannot reach ${this.host} over HTTPS (${causeOf(httpsError)}) or HTTP (${causeOf(err)})`, undefined, err);
      }
    }
  }

  private scope(repository: string, push: boolean): string {
    return `repository:${repository}:${push ? 'pull,push' : 'pull'}`;
  }

  private cachedAuthorization(repository: string, push: boolean): string | undefined {
    return this.authorizations.get(this.scope(repository, push)) ?? (push ? undefined : this.authorizations.get(this.scope(repository, true))) ?? this.authorizations.get('');
  }

  private basicAuthorization(): string | undefined {
    return this.credentials ? `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}` : undefined;
  }

  /** Answers a 401's challenge: a token from the realm (Bearer) or the credentials (Basic). */
  private async authorize(repository: string, push: boolean, header: string | null): Promise<void> {
    const challenge = parseChallenge(header);
    if (challenge?.scheme === 'basic') {
      const basic = this.basicAuthorization();
      if (!basic) throw this.fail('REGISTRY_AUTH_REQUIRED', repository, 'the registry asks for a user name and password: pass --registry-username and --registry-password, or log in with docker login', 401);
      this.authorizations.set('', basic);
      return;
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) {
      throw this.fail('REGISTRY_AUTH_UNSUPPORTED', repository, `the registry answered 401 with an authentication challenge sigstack cannot answer: ${header ?? '(none)'}`, 401);
    }
    const realm = challenge.params.realm;
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw this.fail('REGISTRY_AUTH_UNSUPPORTED', repository, `the token realm "${realm}" is not a URL`, 401);
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (isLoopbackRegistry(url.host) || this.options.allowInsecure))) {
      throw this.fail('REGISTRY_AUTH_UNSUPPORTED', repository, `the token realm ${realm} is plain HTTP off this machine (use --allow-insecure-registry to allow it)`, 401);
    }
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    const scope = this.scope(repository, push);
    url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { 'user-agent': USER_AGENT };
    const basic = this.basicAuthorization();
    if (basic) headers.authorization = basic;
    let response: TransportResponse;
    try {
      response = await this.transport.send({ url, method: 'GET', headers });
    } catch (err) {
      throw this.fail('REGISTRY_AUTH_FAILED', repository, `the token server ${realm} is unreachable: ${causeOf(err)}`, undefined, err);
    }
    const body = await readLimited(response, 1024 * 1024, 'the token answer');
    if (response.status !== 200) {
      throw this.fail('REGISTRY_AUTH_FAILED', repository, `the token server ${realm} answered ${response.status} for ${scope}${basic ? '' : ' (no credentials were sent: pass --registry-username/--registry-password or docker login)'}: ${errorDetail(body)}`, response.status);
    }
    let token: unknown;
    try {
      const json = JSON.parse(body.toString('utf8')) as { token?: unknown; access_token?: unknown };
      token = json.token ?? json.access_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || token === '') throw this.fail('REGISTRY_AUTH_FAILED', repository, `the token server ${realm} answered without a token`, response.status);
    this.authorizations.set(scope, `Bearer ${token}`);
  }

  /**
   * A request with authentication (on a 401, answer the challenge once and retry); a request that
   * is safe to repeat (GET, HEAD, a manifest PUT) is retried on a 5xx, which registries answer
   * transiently (distribution's filesystem store does while a tag is being rewritten).
   */
  private async request(repository: string, init: RequestInit): Promise<TransportResponse> {
    const repeatable = init.method === 'GET' || init.method === 'HEAD' || (init.method === 'PUT' && init.path.includes('/manifests/'));
    for (let attempt = 0; ; attempt++) {
      const response = await this.authenticated(repository, init);
      if (!repeatable || response.status < 500 || attempt === 3) return response;
      response.discard();
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }

  private async authenticated(repository: string, init: RequestInit): Promise<TransportResponse> {
    const push = init.push === true;
    const headers = (): Record<string, string> => {
      const h: Record<string, string> = { 'user-agent': USER_AGENT, ...init.headers };
      const authorization = this.cachedAuthorization(repository, push);
      if (authorization) h.authorization = authorization;
      return h;
    };
    let response = await this.send(repository, init, headers());
    if (response.status === 401) {
      const challenge = response.header('www-authenticate') ?? null;
      response.discard();
      await this.authorize(repository, push, challenge);
      response = await this.send(repository, init, headers());
      if (response.status === 401) {
        const body = await readLimited(response, 64 * 1024, 'the answer');
        throw this.fail('REGISTRY_UNAUTHORIZED', repository, `${init.method} ${init.path} was refused (401) even with credentials: ${errorDetail(body)}`, 401);
      }
    }
    if (response.status === 403) {
      const body = await readLimited(response, 64 * 1024, 'the answer');
      throw this.fail('REGISTRY_DENIED', repository, `${init.method} ${init.path} is not allowed for these credentials (403): ${errorDetail(body)}`, 403);
    }
    return response;
  }

  private async unexpected(repository: string, init: RequestInit, response: TransportResponse, code = 'REGISTRY_ERROR'): Promise<OciError> {
    const body = await readLimited(response, 64 * 1024, 'the answer').catch(() => Buffer.alloc(0));
    return this.fail(code, repository, `${init.method} ${init.path} answered ${response.status}: ${errorDetail(body)}`, response.status);
  }

  async getManifest(repository: string, reference: string): Promise<FetchedManifest | undefined> {
    const init = { method: 'GET', path: `/v2/${repository}/manifests/${reference}`, headers: { accept: MANIFEST_ACCEPT } };
    const response = await this.request(repository, init);
    if (response.status === 404) {
      response.discard();
      return undefined;
    }
    if (response.status !== 200) throw await this.unexpected(repository, init, response);
    const bytes = await readLimited(response, MAX_MANIFEST_BYTES, `manifest ${reference}`);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (reference.startsWith('sha256:') && reference !== digest) {
      throw this.fail('MANIFEST_DIGEST_MISMATCH', repository, `the manifest served for ${reference} has digest ${digest}`);
    }
    const mediaType = (response.header('content-type') ?? '').split(';')[0]?.trim() || mediaTypeOf(bytes);
    return { bytes, mediaType, digest };
  }

  /** Pushes a manifest under a tag or its digest; `subjectProcessed`: the registry indexed its subject (OCI-Subject). */
  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<{ digest: string; subjectProcessed: boolean }> {
    const init = { method: 'PUT', path: `/v2/${repository}/manifests/${reference}`, headers: { 'content-type': mediaType }, body: bytes, push: true };
    const response = await this.request(repository, init);
    if (response.status !== 201 && response.status !== 200) throw await this.unexpected(repository, init, response, 'REGISTRY_REJECTED_MANIFEST');
    response.discard();
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    return { digest, subjectProcessed: response.header('oci-subject') !== undefined };
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const init = { method: 'HEAD', path: `/v2/${repository}/blobs/${digest}`, push: true };
    const response = await this.request(repository, init);
    response.discard();
    if (response.status === 200) return true;
    if (response.status === 404) return false;
    throw await this.unexpected(repository, init, response);
  }

  /** Uploads a blob (POST then a monolithic PUT) unless the repository has it. */
  async putBlob(repository: string, data: Buffer): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    if (await this.hasBlob(repository, digest)) return digest;
    const start = { method: 'POST', path: `/v2/${repository}/blobs/uploads/`, push: true };
    const started = await this.request(repository, start);
    if (started.status !== 202) throw await this.unexpected(repository, start, started);
    started.discard();
    const location = started.header('location');
    if (!location) throw this.fail('REGISTRY_ERROR', repository, 'the blob upload answered no Location');
    const url = new URL(location, `${this.scheme}://${this.host}`);
    url.searchParams.set('digest', digest);
    if (url.host !== this.host) throw this.fail('REGISTRY_ERROR', repository, `the blob upload location ${url.host} is another host`);
    const put = { method: 'PUT', path: `${url.pathname}${url.search}`, headers: { 'content-type': 'application/octet-stream' }, body: data, push: true };
    const done = await this.request(repository, put);
    if (done.status !== 201) throw await this.unexpected(repository, put, done);
    done.discard();
    return digest;
  }

  async getBlob(repository: string, digest: string, maxBytes: number): Promise<Buffer> {
    const init = { method: 'GET', path: `/v2/${repository}/blobs/${digest}` };
    const response = await this.request(repository, init);
    if (response.status !== 200) throw await this.unexpected(repository, init, response, response.status === 404 ? 'BLOB_NOT_FOUND' : 'REGISTRY_ERROR');
    const bytes = await readLimited(response, maxBytes, `blob ${digest}`);
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== digest) throw this.fail('BLOB_DIGEST_MISMATCH', repository, `blob ${digest} was served with digest ${actual}`);
    return bytes;
  }

  async referrers(repository: string, digest: string): Promise<ImageIndex | undefined> {
    const init = { method: 'GET', path: `/v2/${repository}/referrers/${digest}`, headers: { accept: OCI_INDEX } };
    const response = await this.request(repository, init);
    // No referrers API (distribution ≤ 2.8 and others): 404, 400, 405 or 406; the fallback tag then.
    if ([400, 404, 405, 406].includes(response.status)) {
      response.discard();
      return undefined;
    }
    if (response.status !== 200) throw await this.unexpected(repository, init, response);
    const type = response.header('content-type') ?? '';
    const bytes = await readLimited(response, MAX_MANIFEST_BYTES, 'the referrers index');
    if (!type.startsWith(OCI_INDEX)) return undefined;
    return parseImageIndex(bytes, `the referrers of ${digest}`);
  }
}

function mediaTypeOf(bytes: Buffer): string {
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
    if (typeof doc.mediaType === 'string') return doc.mediaType;
    return Array.isArray(doc.manifests) ? OCI_INDEX : 'application/vnd.oci.image.manifest.v1+json';
  } catch {
    return 'application/octet-stream';
  }
}
