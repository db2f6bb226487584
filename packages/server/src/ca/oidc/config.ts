// The CA's OIDC issuer configuration in Fulcio's format (JSON or YAML): exact issuers, meta
// issuers (URL patterns whose `*` matches one host label or path segment), and the ci-provider
// claim templates; validated at load time with errors that say which entry is wrong and why.

import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { X509 } from '@sigstack/core';
import { ServiceError } from '../../errors.js';
import { compileTemplate, TemplateError, type CompiledTemplate } from './ci-template.js';
import { TEMPLATE_FIELDS, type ExtensionField } from './extensions.js';

export const ISSUER_TYPES = [
  'email',
  'github-workflow',
  'gitlab-pipeline',
  'ci-provider',
  'kubernetes',
  'spiffe',
  'uri',
  'username',
  'buildkite-job',
  'codefresh-workflow',
  'chainguard-identity',
] as const;
export type IssuerType = (typeof ISSUER_TYPES)[number];

export interface OIDCIssuer {
  /** The issuer (`iss`) of the tokens; for a meta issuer's match, the token's own issuer. */
  IssuerURL: string;
  /** The audience tokens must carry ("sigstore" when the configuration leaves it out). */
  ClientID: string;
  Type: IssuerType;
  /** For Type ci-provider: which CIIssuerMetadata entry maps its claims. */
  CIProvider?: string;
  /** For email issuers: a JSONPath (`$.a.b`) to the claim recorded as the certificate's issuer. */
  IssuerClaim?: string;
  /** For uri issuers the subject's scheme and host; for username issuers the `!domain` suffix. */
  SubjectDomain?: string;
  SPIFFETrustDomain?: string;
  /** The claim proof of possession signs, as reported to clients (defaults by type). */
  ChallengeClaim?: string;
  SkipEmailVerification: boolean;
  Description?: string;
  Contact?: string;
  Environment?: string;
  /** PEM CA certificate(s) to trust for this issuer's HTTPS endpoints. */
  CACert?: string;
}

export interface MetaIssuer extends OIDCIssuer {
  /** The configured pattern, e.g. `https://oidc.eks.*.amazonaws.com/id/*`. */
  pattern: string;
  regexp: RegExp;
}

export interface CIIssuerMetadata {
  /** Values the templates may use when the token lacks that claim (claims win). */
  DefaultTemplateValues: Record<string, string>;
  ExtensionTemplates: Partial<Record<ExtensionField, CompiledTemplate>>;
  SubjectAlternativeNameTemplate: CompiledTemplate;
}

export interface OidcConfig {
  OIDCIssuers: ReadonlyMap<string, OIDCIssuer>;
  MetaIssuers: readonly MetaIssuer[];
  /** Fulcio's ci-issuer-metadata: the built-in providers, overridden by the configuration's. */
  CIIssuerMetadata: ReadonlyMap<string, CIIssuerMetadata>;
  /** Things that are allowed but probably not meant (unknown keys). */
  warnings: string[];
}

/** An issuer configuration that matched a token's `iss`. */
export interface ResolvedIssuer extends OIDCIssuer {
  /** The meta issuer pattern that matched, when the match was not exact. */
  metaPattern?: string;
}

const DEFAULT_CLIENT_ID = 'sigstore';

function configError(source: string, message: string): ServiceError {
  return new ServiceError(500, 'CONFIG_INVALID', `OIDC issuer configuration ${source}: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Meta issuers

/**
 * The regular expression for a meta issuer pattern, as Fulcio's MetaRegex: the pattern is taken
 * literally except `*`, which matches one or more of `[-_a-zA-Z0-9]` (so never a `.` or `/`), and
 * the whole URL must match (anchored, since GHSA-59jp-pj84-45mr).
 */
export function metaIssuerRegExp(pattern: string): RegExp {
  const quoted = pattern.split('*').map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, '\\$&'));
  return new RegExp(`^${quoted.join('[-_a-zA-Z0-9]+')}$`);
}

function checkMetaPattern(pattern: string, fail: (m: string) => ServiceError): RegExp {
  if (!pattern.includes('*')) throw fail(`meta issuer "${pattern}" has no "*" wildcard; list it under OIDCIssuers instead`);
  if (pattern.includes('**')) throw fail(`meta issuer "${pattern}" has "**"; one "*" already matches a whole host label or path segment`);
  const m = /^(https?):\/\/([^/?#]+)(\/[^?#]*)?$/.exec(pattern);
  if (!m) throw fail(`meta issuer "${pattern}" must be an https:// (or http://) URL pattern with a host and no query or fragment`);
  try {
    new URL(pattern.replaceAll('*', '0'));
  } catch {
    throw fail(`meta issuer "${pattern}" is not a URL pattern`);
  }
  if (m[2]!.includes('@')) throw fail(`meta issuer "${pattern}" may not have user info`);
  return metaIssuerRegExp(pattern);
}

/**
 * The configuration for the issuer `issuerUrl`: an exact OIDCIssuers entry first, else the first
 * meta issuer (in configuration order) whose pattern matches, with IssuerURL set to `issuerUrl`.
 */
export function findIssuer(config: OidcConfig, issuerUrl: string): ResolvedIssuer | undefined {
  const exact = config.OIDCIssuers.get(issuerUrl);
  if (exact) return exact;
  for (const meta of config.MetaIssuers) {
    if (meta.regexp.test(issuerUrl)) {
      const { pattern, regexp: _regexp, ...issuer } = meta;
      return { ...issuer, IssuerURL: issuerUrl, metaPattern: pattern };
    }
  }
  return undefined;
}

/** The claim a client signs for proof of possession with this issuer (Fulcio's issuerToChallengeClaim). */
export function challengeClaim(issuer: OIDCIssuer): string {
  if (issuer.ChallengeClaim) return issuer.ChallengeClaim;
  return issuer.Type === 'email' ? 'email' : 'sub';
}

// ---------------------------------------------------------------------------------------------
// The ci-provider claim templates Fulcio ships (config/identity/config.yaml), used when the
// configuration does not define a provider of that name itself.

type RawMetadata = { defaults: Record<string, string>; templates: Partial<Record<ExtensionField, string>>; san: string };

const BUILTIN_CI_METADATA: Record<string, RawMetadata> = {
  'github-workflow': {
    defaults: { url: 'https://github.com', environment: '' },
    templates: {
      GithubWorkflowTrigger: 'event_name',
      GithubWorkflowSHA: 'sha',
      GithubWorkflowName: 'workflow',
      GithubWorkflowRepository: 'repository',
      GithubWorkflowRef: 'ref',
      BuildSignerURI: '{{ .url }}/{{ .job_workflow_ref }}',
      BuildSignerDigest: 'job_workflow_sha',
      RunnerEnvironment: 'runner_environment',
      SourceRepositoryURI: '{{ .url }}/{{ .repository }}',
      SourceRepositoryDigest: 'sha',
      SourceRepositoryRef: 'ref',
      SourceRepositoryIdentifier: 'repository_id',
      SourceRepositoryOwnerURI: '{{ .url }}/{{ .repository_owner }}',
      SourceRepositoryOwnerIdentifier: 'repository_owner_id',
      BuildConfigURI: '{{ .url }}/{{ .workflow_ref }}',
      BuildConfigDigest: 'workflow_sha',
      BuildTrigger: 'event_name',
      RunInvocationURI: '{{ .url }}/{{ .repository }}/actions/runs/{{ .run_id }}/attempts/{{ .run_attempt }}',
      SourceRepositoryVisibilityAtSigning: 'repository_visibility',
      DeploymentEnvironment: 'environment',
    },
    san: '{{ .url }}/{{ .job_workflow_ref }}',
  },
  'gitlab-pipeline': {
    defaults: { url: 'https://gitlab.com', environment: '' },
    templates: {
      BuildSignerURI: 'https://{{ .ci_config_ref_uri }}',
      BuildSignerDigest: 'ci_config_sha',
      RunnerEnvironment: 'runner_environment',
      SourceRepositoryURI: '{{ .url }}/{{ .project_path }}',
      SourceRepositoryDigest: 'sha',
      SourceRepositoryRef: 'refs/{{if eq .ref_type "branch"}}heads/{{ else }}tags/{{end}}{{ .ref }}',
      SourceRepositoryIdentifier: 'project_id',
      SourceRepositoryOwnerURI: '{{ .url }}/{{ .namespace_path }}',
      SourceRepositoryOwnerIdentifier: 'namespace_id',
      BuildConfigURI: 'https://{{ .ci_config_ref_uri }}',
      BuildConfigDigest: 'ci_config_sha',
      BuildTrigger: 'pipeline_source',
      RunInvocationURI: '{{ .url }}/{{ .project_path }}/-/jobs/{{ .job_id }}',
      SourceRepositoryVisibilityAtSigning: 'project_visibility',
      DeploymentEnvironment: 'environment',
    },
    san: 'https://{{ .ci_config_ref_uri }}',
  },
  'codefresh-workflow': {
    defaults: { platform_url: 'https://g.codefresh.io', scm_repo_url: '', scm_ref: '', runner_environment: '' },
    templates: {
      BuildSignerURI: '{{.platform_url}}/build/{{ .workflow_id }}',
      RunnerEnvironment: 'runner_environment',
      SourceRepositoryURI: 'scm_repo_url',
      SourceRepositoryRef: 'scm_ref',
      BuildConfigURI: '{{.platform_url}}/api/pipelines/{{ .pipeline_id }}',
      RunInvocationURI: '{{.platform_url}}/build/{{ .workflow_id }}',
    },
    san: '{{.platform_url}}/{{.account_name}}/{{.pipeline_name}}:{{.account_id}}/{{.pipeline_id}}',
  },
  'buildkite-job': {
    defaults: { url: 'https://buildkite.com' },
    templates: {
      RunInvocationURI: '{{.url}}/{{.organization_slug}}/{{.pipeline_slug}}/builds/{{.build_number}}#{{.job_id}}',
      RunnerEnvironment: 'runner_environment',
      SourceRepositoryDigest: 'build_commit',
      BuildTrigger: 'build_source',
    },
    san: '{{.url}}/{{.organization_slug}}/{{.pipeline_slug}}',
  },
  'circleci-job': {
    defaults: { api_url: 'https://circleci.com/api/v2', platform_url: 'https://app.circleci.com/' },
    templates: {
      BuildConfigURI: '{{.api_url}}/pipeline/{{(index . "oidc.circleci.com/pipeline-id")}}/config',
      BuildSignerURI: '{{.api_url}}/projects/{{(index . "oidc.circleci.com/project-id")}}/pipeline-definitions/{{(index . "oidc.circleci.com/pipeline-definition-id")}}',
      RunInvocationURI: '{{.platform_url}}/workflow/{{(index . "oidc.circleci.com/workflow-id")}}/job/{{(index . "oidc.circleci.com/job-id")}}',
      RunnerEnvironment: '{{if eq (index . "oidc.circleci.com/ssh-rerun") "true"}}ssh-rerun{{ else }}""{{end}}',
      SourceRepositoryRef: '{{index . "oidc.circleci.com/vcs-ref"}}',
      SourceRepositoryURI: '{{index . "oidc.circleci.com/vcs-origin"}}',
    },
    san: '{{.api_url}}/projects/{{(index . "oidc.circleci.com/project-id")}}/pipeline-definitions/{{(index . "oidc.circleci.com/pipeline-definition-id")}}',
  },
  'buddy-pipeline': {
    defaults: { base_url: 'https://app.buddy.works', revision: '', ref: '' },
    templates: {
      BuildSignerURI: '{{.base_url}}/{{.workspace_domain}}/{{.project_name}}/pipelines/pipeline/{{.pipeline_id}}',
      BuildTrigger: 'triggered_on',
      RunnerEnvironment: 'runner_environment',
      SourceRepositoryURI: '{{.base_url}}/{{.workspace_domain}}/{{.project_name}}',
      SourceRepositoryDigest: 'revision',
      SourceRepositoryRef: 'ref',
      SourceRepositoryOwnerURI: '{{.base_url}}/{{.workspace_domain}}',
      RunInvocationURI: '{{.base_url}}/{{.workspace_domain}}/{{.project_name}}/pipelines/pipeline/{{.pipeline_id}}/execution/{{.execution_id}}',
    },
    san: '{{.base_url}}/{{.workspace_domain}}/{{.project_name}}/pipelines/pipeline/{{.pipeline_id}}',
  },
};

function compileMetadata(name: string, raw: RawMetadata, fail: (m: string) => ServiceError): CIIssuerMetadata {
  const compile = (what: string, source: string) => {
    try {
      return compileTemplate(source);
    } catch (err) {
      throw fail(`ci-issuer-metadata "${name}": ${what}: ${(err as TemplateError).message}`);
    }
  };
  if (!raw.san.trim()) throw fail(`ci-issuer-metadata "${name}" has no SubjectAlternativeNameTemplate; the certificate needs a SAN`);
  const templates: Partial<Record<ExtensionField, CompiledTemplate>> = {};
  for (const [field, source] of Object.entries(raw.templates) as [ExtensionField, string][]) {
    if (field === 'Issuer' || field === 'Subject' || source.trim() === '') continue; // always the token's own
    templates[field] = compile(field, source);
  }
  return { DefaultTemplateValues: { ...raw.defaults }, ExtensionTemplates: templates, SubjectAlternativeNameTemplate: compile('SubjectAlternativeNameTemplate', raw.san) };
}

/** The ci-provider metadata Fulcio ships, by provider name. */
export const DEFAULT_CI_ISSUER_METADATA: ReadonlyMap<string, CIIssuerMetadata> = new Map(
  Object.entries(BUILTIN_CI_METADATA).map(([name, raw]) => [name, compileMetadata(name, raw, (m) => configError('(built-in)', m))]),
);

// ---------------------------------------------------------------------------------------------
// Parsing

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The value of a field under its JSON name (case-insensitive, as Go's encoding/json) or its YAML
 * name (exact, as yaml.v3), and which key it was found under.
 */
function lookup(obj: Obj, jsonName: string, yamlName: string): { key: string; value: unknown } | undefined {
  if (Object.hasOwn(obj, yamlName)) return { key: yamlName, value: obj[yamlName] };
  const lower = jsonName.toLowerCase();
  const key = Object.keys(obj).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : { key, value: obj[key] };
}

/** Parses JSON, else YAML (as Fulcio's parseConfig). */
function parseText(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (jsonErr) {
    // yaml.v3 reads `*alias:` as an alias used as a key (Fulcio's config.yaml does this); YAML 1.2
    // lets an alias name contain ':', so separate the alias from the key's colon first.
    const fixed = text.replace(/^(\s*)\*([^\s:,[\]{}]+):(?=\s|$)/gm, '$1*$2 :');
    const doc = YAML.parseDocument(fixed, { uniqueKeys: true });
    if (doc.errors.length > 0) {
      const looksJson = /^\s*[{[]/.test(text);
      const detail = looksJson ? `not valid JSON: ${(jsonErr as Error).message}` : `not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`;
      throw configError(source, detail);
    }
    try {
      return doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      throw configError(source, `not valid YAML: ${(err as Error).message}`);
    }
  }
}

const ISSUER_FIELDS: [keyof OIDCIssuer, string, 'string' | 'boolean'][] = [
  ['IssuerURL', 'issuer-url', 'string'],
  ['ClientID', 'client-id', 'string'],
  ['Type', 'type', 'string'],
  ['CIProvider', 'ci-provider', 'string'],
  ['IssuerClaim', 'issuer-claim', 'string'],
  ['SubjectDomain', 'subject-domain', 'string'],
  ['SPIFFETrustDomain', 'spiffe-trust-domain', 'string'],
  ['ChallengeClaim', 'challenge-claim', 'string'],
  ['Description', 'description', 'string'],
  ['Contact', 'contact', 'string'],
  ['Environment', 'environment', 'string'],
  ['CACert', 'ca-cert', 'string'],
  ['SkipEmailVerification', 'skip-email-verification', 'boolean'],
];

function readIssuer(raw: unknown, where: string, fail: (m: string) => ServiceError, warnings: string[]): Partial<OIDCIssuer> {
  if (!isObject(raw)) throw fail(`${where} must be a mapping of issuer settings`);
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const [field, yamlName, type] of ISSUER_FIELDS) {
    const found = lookup(raw, field, yamlName);
    if (!found || found.value === null || found.value === undefined) continue;
    seen.add(found.key);
    if (typeof found.value !== type) throw fail(`${where}: "${found.key}" must be a ${type}, not ${JSON.stringify(found.value)}`);
    out[field] = found.value;
  }
  for (const key of Object.keys(raw)) if (!seen.has(key) && !ISSUER_FIELDS.some(([f, y]) => key === y || key.toLowerCase() === f.toLowerCase())) warnings.push(`${where}: unknown setting "${key}" ignored`);
  return out as Partial<OIDCIssuer>;
}

/** Hostname check of Fulcio's validateAllowedDomain: equal, or the same last two labels. */
function allowedDomain(subjectHost: string, issuerHost: string): string | undefined {
  if (subjectHost === issuerHost) return undefined;
  const s = subjectHost.split('.');
  const i = issuerHost.split('.');
  if (s.length < 2) return `hostname ${subjectHost} is too short (it needs at least two labels)`;
  if (i.length < 2) return `hostname ${issuerHost} is too short (it needs at least two labels)`;
  if (s[s.length - 1] === i[i.length - 1] && s[s.length - 2] === i[i.length - 2]) return undefined;
  return `the top-level and second-level domains of ${subjectHost} and the issuer's ${issuerHost} differ; an issuer may only vouch for names in its own domain`;
}

const SPIFFE_TRUST_DOMAIN = /^[a-z0-9._-]+$/;

/** The trust domain of a SPIFFE trust domain setting (`example.org` or `spiffe://example.org`). */
export function normalizeTrustDomain(value: string): string | undefined {
  const name = value.startsWith('spiffe://') ? value.slice('spiffe://'.length) : value;
  return SPIFFE_TRUST_DOMAIN.test(name) ? name : undefined;
}

function hasScheme(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(value);
}

function completeIssuer(partial: Partial<OIDCIssuer>, where: string, issuerUrl: string | undefined, meta: boolean, ciProviders: ReadonlySet<string>, fail: (m: string) => ServiceError): OIDCIssuer {
  if (!partial.Type) throw fail(`${where} has no Type; set one of: ${ISSUER_TYPES.join(', ')}`);
  if (!(ISSUER_TYPES as readonly string[]).includes(partial.Type)) {
    throw fail(`${where} has unknown Type "${partial.Type}"; use one of: ${ISSUER_TYPES.join(', ')}`);
  }
  const issuer: OIDCIssuer = { ...partial, IssuerURL: issuerUrl ?? partial.IssuerURL ?? '', ClientID: partial.ClientID || DEFAULT_CLIENT_ID, Type: partial.Type, SkipEmailVerification: partial.SkipEmailVerification ?? false };
  const type = issuer.Type;
  if (issuer.IssuerClaim && type !== 'email') throw fail(`${where}: only email issuers can use IssuerClaim (this one is ${type})`);
  if (issuer.IssuerClaim && !/^\$(\.[^.[\]]+|\[(?:'[^']*'|"[^"]*")\])+$/.test(issuer.IssuerClaim)) {
    throw fail(`${where}: IssuerClaim "${issuer.IssuerClaim}" must be a JSONPath such as $.federated_claims.connector_id`);
  }
  if (issuer.SkipEmailVerification && type !== 'email') throw fail(`${where}: SkipEmailVerification applies only to email issuers (this one is ${type})`);
  if (type === 'ci-provider') {
    if (!issuer.CIProvider) throw fail(`${where} has Type ci-provider but no CIProvider; name one of: ${[...ciProviders].join(', ')}`);
    if (!ciProviders.has(issuer.CIProvider)) throw fail(`${where} names CIProvider "${issuer.CIProvider}", which has no ci-issuer-metadata; define it or use one of: ${[...ciProviders].join(', ')}`);
  }
  if (type === 'spiffe') {
    if (meta) throw fail(`${where}: SPIFFE meta issuers are not supported (one trust domain cannot belong to many issuers)`);
    if (!issuer.SPIFFETrustDomain) throw fail(`${where}: a spiffe issuer must have SPIFFETrustDomain set`);
    if (!normalizeTrustDomain(issuer.SPIFFETrustDomain)) throw fail(`${where}: SPIFFETrustDomain "${issuer.SPIFFETrustDomain}" is not a valid trust domain (lowercase letters, digits, ".", "-", "_")`);
  }
  if ((type === 'uri' || type === 'username') && !issuer.SubjectDomain) throw fail(`${where}: a ${type} issuer must have SubjectDomain set`);
  if (!meta && (type === 'uri' || type === 'username')) {
    let issuerHost: string;
    let issuerScheme: string;
    try {
      const u = new URL(issuer.IssuerURL);
      issuerHost = u.hostname;
      issuerScheme = u.protocol.slice(0, -1);
    } catch {
      throw fail(`${where}: the issuer URL of a ${type} issuer must contain a scheme`);
    }
    const subjectDomain = issuer.SubjectDomain!;
    if (type === 'uri') {
      if (!hasScheme(subjectDomain)) throw fail(`${where}: SubjectDomain for uri must contain a scheme (e.g. https://example.com)`);
      let domain: URL;
      try {
        domain = new URL(subjectDomain);
      } catch {
        throw fail(`${where}: SubjectDomain "${subjectDomain}" is not a URL`);
      }
      const scheme = domain.protocol.slice(0, -1);
      if (scheme !== issuerScheme) throw fail(`${where}: subject (${scheme}) and issuer (${issuerScheme}) URI schemes do not match`);
      const problem = allowedDomain(domain.hostname, issuerHost);
      if (problem) throw fail(`${where}: SubjectDomain: ${problem}`);
    } else {
      if (hasScheme(subjectDomain)) throw fail(`${where}: SubjectDomain for username must not contain a scheme (e.g. example.com)`);
      const problem = allowedDomain(subjectDomain, issuerHost);
      if (problem) throw fail(`${where}: SubjectDomain: ${problem}`);
    }
  }
  if (issuer.CACert !== undefined) {
    const blocks = issuer.CACert.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) throw fail(`${where}: CACert holds no PEM certificate`);
    for (const block of blocks) {
      try {
        X509.fromPem(block);
      } catch (err) {
        throw fail(`${where}: failed to parse CA certificate: ${(err as Error).message}`);
      }
    }
  }
  return issuer;
}

function readMetadata(raw: unknown, name: string, fail: (m: string) => ServiceError, warnings: string[]): CIIssuerMetadata {
  const where = `ci-issuer-metadata "${name}"`;
  if (!isObject(raw)) throw fail(`${where} must be a mapping`);
  const defaultsRaw = lookup(raw, 'DefaultTemplateValues', 'default-template-values')?.value ?? {};
  const templatesRaw = lookup(raw, 'ExtensionTemplates', 'extension-templates')?.value ?? {};
  const san = lookup(raw, 'SubjectAlternativeNameTemplate', 'subject-alternative-name-template')?.value ?? '';
  if (!isObject(defaultsRaw)) throw fail(`${where}: DefaultTemplateValues must be a mapping of names to strings`);
  if (!isObject(templatesRaw)) throw fail(`${where}: ExtensionTemplates must be a mapping of extension names to templates`);
  if (typeof san !== 'string') throw fail(`${where}: SubjectAlternativeNameTemplate must be a string`);
  const defaults: Record<string, string> = {};
  for (const [key, value] of Object.entries(defaultsRaw)) {
    if (value === null || typeof value === 'object') throw fail(`${where}: default value "${key}" must be a string`);
    defaults[key] = String(value);
  }
  const templates: Partial<Record<ExtensionField, string>> = {};
  for (const [key, value] of Object.entries(templatesRaw)) {
    const field = TEMPLATE_FIELDS.get(key.toLowerCase()) ?? TEMPLATE_FIELDS.get(key);
    if (!field) {
      warnings.push(`${where}: unknown extension "${key}" ignored`);
      continue;
    }
    if (typeof value !== 'string') throw fail(`${where}: the template for ${key} must be a string`);
    templates[field] = value;
  }
  return compileMetadata(name, { defaults, templates, san }, fail);
}

/**
 * Parses and validates a Fulcio issuer configuration (JSON or YAML). `source` names it in error
 * messages (a file path). Throws ServiceError(500, 'CONFIG_INVALID') naming the bad entry.
 */
export function parseOidcConfig(text: string | Buffer, source = '(inline)'): OidcConfig {
  const fail = (m: string) => configError(source, m);
  const root = parseText(typeof text === 'string' ? text : text.toString('utf8'), source);
  if (!isObject(root)) throw fail('must be a mapping with OIDCIssuers (oidc-issuers) and/or MetaIssuers (meta-issuers)');
  const warnings: string[] = [];

  const metadata = new Map(DEFAULT_CI_ISSUER_METADATA);
  const metadataRaw = lookup(root, 'CIIssuerMetadata', 'ci-issuer-metadata');
  if (metadataRaw && metadataRaw.value !== null) {
    if (!isObject(metadataRaw.value)) throw fail('CIIssuerMetadata must be a mapping of CI provider names to metadata');
    for (const [name, raw] of Object.entries(metadataRaw.value)) metadata.set(name, readMetadata(raw, name, fail, warnings));
  }
  const ciProviders = new Set(metadata.keys());

  const issuers = new Map<string, OIDCIssuer>();
  const issuersRaw = lookup(root, 'OIDCIssuers', 'oidc-issuers');
  if (issuersRaw && issuersRaw.value !== null) {
    if (!isObject(issuersRaw.value)) throw fail('OIDCIssuers must be a mapping of issuer URLs to issuer settings');
    for (const [url, raw] of Object.entries(issuersRaw.value)) {
      const where = `issuer "${url}"`;
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw fail(`${where}: the key must be the issuer URL (e.g. https://accounts.example.com)`);
      }
      if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw fail(`${where}: the issuer URL must be https (or http)`);
      if (url.includes('*')) throw fail(`${where}: an issuer URL with "*" belongs under MetaIssuers`);
      const partial = readIssuer(raw, where, fail, warnings);
      if (partial.IssuerURL !== undefined && partial.IssuerURL !== url) {
        throw fail(`${where}: its IssuerURL "${partial.IssuerURL}" differs from the key; tokens are matched by the key and verified against IssuerURL, so they must be equal`);
      }
      issuers.set(url, completeIssuer(partial, where, url, false, ciProviders, fail));
    }
  }

  const metas: MetaIssuer[] = [];
  const metasRaw = lookup(root, 'MetaIssuers', 'meta-issuers');
  if (metasRaw && metasRaw.value !== null) {
    if (!isObject(metasRaw.value)) throw fail('MetaIssuers must be a mapping of issuer URL patterns to issuer settings');
    for (const [pattern, raw] of Object.entries(metasRaw.value)) {
      const where = `meta issuer "${pattern}"`;
      const regexp = checkMetaPattern(pattern, fail);
      const partial = readIssuer(raw, where, fail, warnings);
      const issuer = completeIssuer({ ...partial, IssuerURL: pattern }, where, pattern, true, ciProviders, fail);
      metas.push({ ...issuer, pattern, regexp });
    }
  }

  if (issuers.size === 0 && metas.length === 0) {
    throw fail('names no issuers; a CA that accepts no tokens cannot issue certificates (JSON keys: OIDCIssuers, MetaIssuers; YAML keys: oidc-issuers, meta-issuers)');
  }
  const known = ['OIDCIssuers', 'oidc-issuers', 'MetaIssuers', 'meta-issuers', 'CIIssuerMetadata', 'ci-issuer-metadata', 'define'].map((k) => k.toLowerCase());
  for (const key of Object.keys(root)) if (!known.includes(key.toLowerCase())) warnings.push(`unknown top-level key "${key}" ignored`);
  return { OIDCIssuers: issuers, MetaIssuers: metas, CIIssuerMetadata: metadata, warnings };
}

/** Reads and parses the configuration file at `path` (see parseOidcConfig). */
export function loadOidcConfig(path: string): OidcConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw configError(path, `cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseOidcConfig(text, path);
}
