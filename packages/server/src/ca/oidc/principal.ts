// What a certificate must say about a verified OIDC identity, per issuer type as Fulcio's
// pkg/identity principals and ci-provider templates do: the one SAN (email, URI or username
// OtherName) and the 1.3.6.1.4.1.57264.1.* extension values, encoded as Fulcio encodes them.

import { ServiceError } from '../../errors.js';
import { TemplateError } from './ci-template.js';
import { DEFAULT_CI_ISSUER_METADATA, normalizeTrustDomain, type CIIssuerMetadata, type IssuerType, type ResolvedIssuer } from './config.js';
import { OID_OTHERNAME_USERNAME, renderExtensions, type ExtensionField, type ExtensionValues, type IdentityExtension } from './extensions.js';

/** A verified OIDC identity. */
export interface Principal {
  /** The token's verified `iss`. */
  issuer: string;
  /** What proof of possession is checked against: the email for email issuers, else `sub`. */
  subject: string;
  type: IssuerType;
  /** Every claim of the verified token. */
  claims: Readonly<Record<string, unknown>>;
  /** The configuration the token matched. */
  issuerConfig: ResolvedIssuer;
}

export type SanType = 'email' | 'uri' | 'otherName';

export interface CertificateIdentity {
  /** The certificate's only Subject Alternative Name (Fulcio marks it critical). */
  san: { type: SanType; value: string; /** For otherName: the type OID (1.3.6.1.4.1.57264.1.7). */ typeId?: string };
  /** The Fulcio extensions in the order Fulcio writes them. */
  extensions: IdentityExtension[];
  /** The same extension values as strings, by Fulcio's field name. */
  values: ExtensionValues;
}

function claimError(principal: Principal, message: string): ServiceError {
  return new ServiceError(400, 'TOKEN_CLAIM_INVALID', `the identity token from ${principal.issuer} cannot be turned into a certificate identity: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Claim values as Fulcio sees them

/** Go's fmt %v of a decoded JSON value. */
function goFormat(value: unknown): string {
  if (value === null || value === undefined) return '<nil>';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return goNumber(value);
  if (Array.isArray(value)) return `[${value.map(goFormat).join(' ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, v]) => `${k}:${goFormat(v)}`).join(' ')}]`;
  }
  return String(value);
}

/** strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent. */
function goNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return Math.abs(value) < 1e21 ? String(value) : BigInt(value).toString();
  const text = String(value);
  if (!text.includes('e')) return text;
  const [mantissa, exp] = text.split('e') as [string, string];
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const point = (mantissa.replace('-', '').indexOf('.') < 0 ? mantissa.replace('-', '').length : mantissa.replace('-', '').indexOf('.')) + Number(exp);
  const body = point <= 0 ? `0.${'0'.repeat(-point)}${digits}` : digits.length <= point ? digits + '0'.repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return (negative ? '-' : '') + body;
}

/** The claims as strings (Fulcio's ci-provider mapValuesToString). */
export function claimStrings(claims: Readonly<Record<string, unknown>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(claims)) out.set(key, goFormat(value));
  return out;
}

/** A required claim that Fulcio decodes into a Go string (numbers are accepted as their digits). */
function requiredClaim(principal: Principal, name: string): string {
  const value = principal.claims[name];
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return goNumber(value);
  throw claimError(principal, `missing ${name} claim in ID token (${principal.type} issuers need it)`);
}

function optionalClaim(principal: Principal, name: string): string {
  const value = principal.claims[name];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return goNumber(value);
  return '';
}

/** Fulcio's test for "looks like an email address" (govalidator.IsEmail, simplified). */
export function isEmail(value: string): boolean {
  return /^[^\s@"(),:;<>[\\\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/.test(value) && value.length <= 254;
}

// ---------------------------------------------------------------------------------------------
// URLs as Go's net/url builds them

/** Go's URL.JoinPath: the base path and elements joined and cleaned, a trailing slash kept. */
export function joinPath(base: string, ...elements: string[]): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)([^?#]*)/i.exec(base);
  if (!m) throw new Error(`not an absolute URL: ${base}`);
  const parts = [m[2] || '/', ...elements];
  let path = cleanPath(parts.join('/'));
  if (parts[parts.length - 1]!.endsWith('/') && !path.endsWith('/')) path += '/';
  return m[1] + escapePath(path);
}

/** Go's path.Clean of an absolute path. */
function cleanPath(path: string): string {
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return '/' + out.join('/');
}

/** Percent-encodes what Go's URL.EscapedPath would (characters not valid in a path). */
function escapePath(path: string): string {
  return path.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%[\]]/gu, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

// ---------------------------------------------------------------------------------------------
// Issuer types

/** A tiny JSONPath ($.a.b, $['a'], $.a[0]) over the claims, as Fulcio's IssuerClaim lookup. */
function jsonPath(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  let current: unknown = claims;
  const re = /\.([^.[\]]+)|\[(?:'([^']*)'|"([^"]*)"|(\d+))\]/g;
  let consumed = 1;
  for (let m = re.exec(path.slice(1)); m; m = re.exec(path.slice(1))) {
    consumed += m[0].length;
    const key = m[1] ?? m[2] ?? m[3];
    if (key !== undefined) current = current !== null && typeof current === 'object' && !Array.isArray(current) ? (current as Record<string, unknown>)[key] : undefined;
    else current = Array.isArray(current) ? current[Number(m[4])] : undefined;
    if (current === undefined) return undefined;
  }
  return consumed === path.length ? current : undefined;
}

function certIssuer(principal: Principal): string {
  const path = principal.issuerConfig.IssuerClaim;
  if (!path) return principal.issuer;
  const value = jsonPath(principal.claims, path);
  if (value === undefined || value === null || value === '') throw claimError(principal, `the issuer claim ${path} that this issuer's configuration names is missing`);
  return goFormat(value);
}

function fromEmail(p: Principal): CertificateIdentity['san'] & { values: ExtensionValues } {
  const email = p.claims['email'];
  if (typeof email !== 'string' || email === '') throw claimError(p, 'token missing email claim');
  if (!isEmail(email)) throw claimError(p, 'email address is not valid');
  return { type: 'email', value: email, values: { Issuer: certIssuer(p), Subject: optionalClaim(p, 'sub') } };
}

function fromUsername(p: Principal) {
  const username = requiredClaim(p, 'sub');
  if (username.includes('!')) throw claimError(p, 'username cannot contain ! character');
  if (isEmail(username)) throw claimError(p, 'username subject should not be an email address');
  return { type: 'otherName' as const, value: `${username}!${p.issuerConfig.SubjectDomain ?? ''}`, typeId: OID_OTHERNAME_USERNAME, values: { Issuer: p.issuer, Subject: username } };
}

function fromUri(p: Principal) {
  const uri = requiredClaim(p, 'sub');
  if (isEmail(uri)) throw claimError(p, 'uri subject should not be an email address');
  let subject: URL;
  let domain: URL;
  try {
    subject = new URL(uri);
    domain = new URL(p.issuerConfig.SubjectDomain ?? '');
  } catch {
    throw claimError(p, `subject ${JSON.stringify(uri)} is not a URI`);
  }
  if (subject.protocol !== domain.protocol) throw claimError(p, `subject URI scheme (${subject.protocol.slice(0, -1)}) must match expected domain URI scheme (${domain.protocol.slice(0, -1)})`);
  if (subject.hostname !== domain.hostname) throw claimError(p, `subject hostname (${subject.hostname}) must match expected domain (${domain.hostname})`);
  return { type: 'uri' as const, value: uri, values: { Issuer: p.issuer, Subject: uri } };
}

function fromSpiffe(p: Principal) {
  const id = requiredClaim(p, 'sub');
  const m = /^spiffe:\/\/([a-z0-9._-]+)(\/[A-Za-z0-9._\-/]*)?$/.exec(id);
  if (!m || (m[2] !== undefined && (m[2].endsWith('/') || m[2].includes('//') || /\/\.\.?(\/|$)/.test(m[2])))) throw claimError(p, `invalid spiffe ID provided: ${id}`);
  const configured = normalizeTrustDomain(p.issuerConfig.SPIFFETrustDomain ?? '');
  if (m[1] !== configured) throw claimError(p, `spiffe ID trust domain ${m[1]} doesn't match configured trust domain ${p.issuerConfig.SPIFFETrustDomain}`);
  return { type: 'uri' as const, value: id, values: { Issuer: p.issuer, Subject: id } };
}

function fromKubernetes(p: Principal) {
  const k8s = p.claims['kubernetes.io'];
  const obj = (v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const namespace = obj(k8s)['namespace'];
  const account = obj(obj(k8s)['serviceaccount'])['name'];
  // Fulcio takes these as they are; an empty one would make a URI naming no service account.
  if (typeof namespace !== 'string' || namespace === '') throw claimError(p, 'missing kubernetes.io.namespace claim in ID token');
  if (typeof account !== 'string' || account === '') throw claimError(p, 'missing kubernetes.io.serviceaccount.name claim in ID token');
  return { type: 'uri' as const, value: `https://kubernetes.io/namespaces/${namespace}/serviceaccounts/${account}`, values: { Issuer: p.issuer, Subject: requiredClaim(p, 'sub') } };
}

/** Fulcio's (deprecated but still configurable) github-workflow principal. */
function fromGithubWorkflow(p: Principal) {
  const names = ['job_workflow_ref', 'sha', 'event_name', 'repository', 'workflow', 'ref', 'job_workflow_sha', 'runner_environment', 'repository_id', 'repository_owner', 'repository_owner_id', 'repository_visibility', 'workflow_ref', 'workflow_sha', 'run_id', 'run_attempt'] as const;
  const c = Object.fromEntries(names.map((n) => [n, requiredClaim(p, n)])) as Record<(typeof names)[number], string>;
  const base = 'https://github.com/';
  const signer = joinPath(base, c.job_workflow_ref);
  return {
    type: 'uri' as const,
    value: signer,
    values: {
      Issuer: p.issuer,
      Subject: optionalClaim(p, 'sub'),
      GithubWorkflowTrigger: c.event_name,
      GithubWorkflowSHA: c.sha,
      GithubWorkflowName: c.workflow,
      GithubWorkflowRepository: c.repository,
      GithubWorkflowRef: c.ref,
      BuildSignerURI: signer,
      BuildSignerDigest: c.job_workflow_sha,
      RunnerEnvironment: c.runner_environment,
      SourceRepositoryURI: joinPath(base, c.repository),
      SourceRepositoryDigest: c.sha,
      SourceRepositoryRef: c.ref,
      SourceRepositoryIdentifier: c.repository_id,
      SourceRepositoryOwnerURI: joinPath(base, c.repository_owner),
      SourceRepositoryOwnerIdentifier: c.repository_owner_id,
      BuildConfigURI: joinPath(base, c.workflow_ref),
      BuildConfigDigest: c.workflow_sha,
      BuildTrigger: c.event_name,
      RunInvocationURI: joinPath(base, c.repository, 'actions/runs', c.run_id, 'attempts', c.run_attempt),
      SourceRepositoryVisibilityAtSigning: c.repository_visibility,
    } satisfies ExtensionValues,
  };
}

/** Fulcio's (deprecated but still configurable) gitlab-pipeline principal. */
function fromGitlabPipeline(p: Principal) {
  const names = ['project_path', 'pipeline_source', 'pipeline_id', 'ci_config_ref_uri', 'job_id', 'ref', 'ref_type', 'namespace_path', 'namespace_id', 'project_id', 'sha', 'runner_environment'] as const;
  const c = Object.fromEntries(names.map((n) => [n, requiredClaim(p, n)])) as Record<(typeof names)[number], string>;
  const runnerId = p.claims['runner_id'];
  if (typeof runnerId !== 'number' || !Number.isInteger(runnerId) || runnerId === 0) throw claimError(p, 'missing runner_id claim in ID token (gitlab-pipeline issuers need it)');
  let ref: string;
  if (c.ref_type === 'branch') ref = `refs/heads/${c.ref}`;
  else if (c.ref_type === 'tag') ref = `refs/tags/${c.ref}`;
  else throw claimError(p, `unexpected ref_type: ${c.ref_type}`);
  const base = 'https://gitlab.com/';
  // ci_config_ref_uri has no scheme (gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main).
  const configUri = `https://${c.ci_config_ref_uri}`;
  const digest = optionalClaim(p, 'ci_config_sha');
  return {
    type: 'uri' as const,
    value: configUri,
    values: {
      Issuer: p.issuer,
      Subject: optionalClaim(p, 'sub'),
      BuildConfigURI: configUri,
      BuildConfigDigest: digest,
      BuildSignerURI: configUri,
      BuildSignerDigest: digest,
      RunnerEnvironment: c.runner_environment,
      SourceRepositoryURI: joinPath(base, c.project_path),
      SourceRepositoryDigest: c.sha,
      SourceRepositoryRef: ref,
      SourceRepositoryIdentifier: c.project_id,
      SourceRepositoryOwnerURI: joinPath(base, c.namespace_path),
      SourceRepositoryOwnerIdentifier: c.namespace_id,
      BuildTrigger: c.pipeline_source,
      RunInvocationURI: joinPath(base, c.project_path, '/-/jobs/', c.job_id),
      SourceRepositoryVisibilityAtSigning: optionalClaim(p, 'project_visibility'),
    } satisfies ExtensionValues,
  };
}

function fromBuildkite(p: Principal) {
  const org = requiredClaim(p, 'organization_slug');
  const pipeline = requiredClaim(p, 'pipeline_slug');
  return { type: 'uri' as const, value: `https://buildkite.com/${org}/${pipeline}`, values: { Issuer: p.issuer, Subject: optionalClaim(p, 'sub') } };
}

function fromCodefresh(p: Principal) {
  const accountId = requiredClaim(p, 'account_id');
  const pipelineId = requiredClaim(p, 'pipeline_id');
  const workflowId = requiredClaim(p, 'workflow_id');
  const platform = optionalClaim(p, 'platform_url') || 'https://g.codefresh.io';
  return {
    type: 'uri' as const,
    value: joinPath(platform, optionalClaim(p, 'account_name'), `${optionalClaim(p, 'pipeline_name')}:${accountId}/${pipelineId}`),
    values: {
      Issuer: p.issuer,
      Subject: optionalClaim(p, 'sub'),
      BuildSignerURI: joinPath(platform, 'build', workflowId),
      RunnerEnvironment: optionalClaim(p, 'runner_environment'),
      SourceRepositoryURI: optionalClaim(p, 'scm_repo_url'),
      SourceRepositoryRef: optionalClaim(p, 'scm_ref'),
      BuildConfigURI: joinPath(platform, 'api', 'pipelines', pipelineId),
      RunInvocationURI: joinPath(platform, 'build', workflowId),
    } satisfies ExtensionValues,
  };
}

function fromChainguard(p: Principal) {
  const sub = requiredClaim(p, 'sub');
  return { type: 'uri' as const, value: joinPath(p.issuer, sub), values: { Issuer: p.issuer, Subject: sub } };
}

/** Fulcio's ci-provider principal: the SAN and extensions from the provider's claim templates. */
function fromCiProvider(p: Principal, metadata: ReadonlyMap<string, CIIssuerMetadata>) {
  const name = p.issuerConfig.CIProvider ?? '';
  const meta = metadata.get(name);
  if (!meta) throw new ServiceError(500, 'CONFIG_INVALID', `OIDC issuer ${p.issuerConfig.IssuerURL} names CIProvider "${name}", which has no ci-issuer-metadata`);
  // Claims win over the provider's defaults.
  const data = new Map(Object.entries(meta.DefaultTemplateValues));
  for (const [k, v] of claimStrings(p.claims)) data.set(k, v);
  const apply = (what: string, run: () => string) => {
    try {
      return run();
    } catch (err) {
      if (err instanceof TemplateError) throw claimError(p, `${what} (CI provider ${name}): ${err.message}; the token lacks a claim this provider's template needs`);
      throw err;
    }
  };
  const san = apply('the subject alternative name', () => meta.SubjectAlternativeNameTemplate.execute(data));
  try {
    new URL(san);
  } catch {
    throw claimError(p, `the subject alternative name ${JSON.stringify(san)} made from its claims is not a URI`);
  }
  const values: ExtensionValues = {};
  for (const [field, template] of Object.entries(meta.ExtensionTemplates) as [ExtensionField, NonNullable<CIIssuerMetadata['ExtensionTemplates'][ExtensionField]>][]) {
    values[field] = apply(field, () => template.execute(data));
  }
  values.Issuer = p.issuer;
  values.Subject = optionalClaim(p, 'sub');
  return { type: 'uri' as const, value: san, values };
}

/**
 * The SAN and Fulcio extensions a certificate for `principal` carries. `config` supplies the
 * ci-provider metadata (Fulcio's built-in providers when absent). Throws ServiceError 400
 * TOKEN_CLAIM_INVALID when the token lacks or has unusable claims for its issuer type.
 */
export function certificateIdentity(principal: Principal, config?: { CIIssuerMetadata?: ReadonlyMap<string, CIIssuerMetadata> }): CertificateIdentity {
  let mapped: { type: SanType; value: string; typeId?: string; values: ExtensionValues };
  switch (principal.type) {
    case 'email':
      mapped = fromEmail(principal);
      break;
    case 'username':
      mapped = fromUsername(principal);
      break;
    case 'uri':
      mapped = fromUri(principal);
      break;
    case 'spiffe':
      mapped = fromSpiffe(principal);
      break;
    case 'kubernetes':
      mapped = fromKubernetes(principal);
      break;
    case 'github-workflow':
      mapped = fromGithubWorkflow(principal);
      break;
    case 'gitlab-pipeline':
      mapped = fromGitlabPipeline(principal);
      break;
    case 'buildkite-job':
      mapped = fromBuildkite(principal);
      break;
    case 'codefresh-workflow':
      mapped = fromCodefresh(principal);
      break;
    case 'chainguard-identity':
      mapped = fromChainguard(principal);
      break;
    case 'ci-provider':
      mapped = fromCiProvider(principal, config?.CIIssuerMetadata ?? DEFAULT_CI_ISSUER_METADATA);
      break;
    default:
      throw new ServiceError(500, 'CONFIG_INVALID', `unsupported issuer type ${String(principal.type)}`);
  }
  const { values, ...san } = mapped;
  return { san, extensions: renderExtensions(values), values };
}
