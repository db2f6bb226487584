// The Fulcio certificate extensions under 1.3.6.1.4.1.57264.1 (docs/oid-info.md): their names in
// Fulcio's configuration (JSON and YAML), OIDs and encodings, and rendering a set of values into
// extension bytes in Fulcio's order (.1.1-.1.6 raw strings, .1.8 and later DER UTF8String).

export const OID_FULCIO = '1.3.6.1.4.1.57264.1';
/** The OtherName type of a username SAN (`{sub}!{SubjectDomain}`). */
export const OID_OTHERNAME_USERNAME = `${OID_FULCIO}.7`;

export type ExtensionField =
  | 'Issuer'
  | 'GithubWorkflowTrigger'
  | 'GithubWorkflowSHA'
  | 'GithubWorkflowName'
  | 'GithubWorkflowRepository'
  | 'GithubWorkflowRef'
  | 'BuildSignerURI'
  | 'BuildSignerDigest'
  | 'RunnerEnvironment'
  | 'SourceRepositoryURI'
  | 'SourceRepositoryDigest'
  | 'SourceRepositoryRef'
  | 'SourceRepositoryIdentifier'
  | 'SourceRepositoryOwnerURI'
  | 'SourceRepositoryOwnerIdentifier'
  | 'BuildConfigURI'
  | 'BuildConfigDigest'
  | 'BuildTrigger'
  | 'RunInvocationURI'
  | 'SourceRepositoryVisibilityAtSigning'
  | 'DeploymentEnvironment'
  | 'Subject';

export type ExtensionValues = Partial<Record<ExtensionField, string>>;

export interface ExtensionSpec {
  field: ExtensionField;
  /** The key in a YAML configuration's extension-templates. */
  yaml: string;
  oid: string;
  encoding: 'raw' | 'utf8';
}

const f = (n: number) => `${OID_FULCIO}.${n}`;

/** Every extension a Fulcio identity can set, in the order Fulcio renders them (Issuer twice). */
export const EXTENSION_SPECS: readonly ExtensionSpec[] = [
  { field: 'Issuer', yaml: 'issuer', oid: f(1), encoding: 'raw' },
  { field: 'GithubWorkflowTrigger', yaml: 'github-workflow-trigger', oid: f(2), encoding: 'raw' },
  { field: 'GithubWorkflowSHA', yaml: 'github-workflow-sha', oid: f(3), encoding: 'raw' },
  { field: 'GithubWorkflowName', yaml: 'github-workflow-name', oid: f(4), encoding: 'raw' },
  { field: 'GithubWorkflowRepository', yaml: 'github-workflow-repository', oid: f(5), encoding: 'raw' },
  { field: 'GithubWorkflowRef', yaml: 'github-workflow-ref', oid: f(6), encoding: 'raw' },
  { field: 'Issuer', yaml: 'issuer', oid: f(8), encoding: 'utf8' },
  { field: 'BuildSignerURI', yaml: 'build-signer-uri', oid: f(9), encoding: 'utf8' },
  { field: 'BuildSignerDigest', yaml: 'build-signer-digest', oid: f(10), encoding: 'utf8' },
  { field: 'RunnerEnvironment', yaml: 'runner-environment', oid: f(11), encoding: 'utf8' },
  { field: 'SourceRepositoryURI', yaml: 'source-repository-uri', oid: f(12), encoding: 'utf8' },
  { field: 'SourceRepositoryDigest', yaml: 'source-repository-digest', oid: f(13), encoding: 'utf8' },
  { field: 'SourceRepositoryRef', yaml: 'source-repository-ref', oid: f(14), encoding: 'utf8' },
  { field: 'SourceRepositoryIdentifier', yaml: 'source-repository-identifier', oid: f(15), encoding: 'utf8' },
  { field: 'SourceRepositoryOwnerURI', yaml: 'source-repository-owner-uri', oid: f(16), encoding: 'utf8' },
  { field: 'SourceRepositoryOwnerIdentifier', yaml: 'source-repository-owner-identifier', oid: f(17), encoding: 'utf8' },
  { field: 'BuildConfigURI', yaml: 'build-config-uri', oid: f(18), encoding: 'utf8' },
  { field: 'BuildConfigDigest', yaml: 'build-config-digest', oid: f(19), encoding: 'utf8' },
  { field: 'BuildTrigger', yaml: 'build-trigger', oid: f(20), encoding: 'utf8' },
  { field: 'RunInvocationURI', yaml: 'run-invocation-uri', oid: f(21), encoding: 'utf8' },
  { field: 'SourceRepositoryVisibilityAtSigning', yaml: 'source-repository-visibility-at-signing', oid: f(22), encoding: 'utf8' },
  { field: 'DeploymentEnvironment', yaml: 'deployment-environment', oid: f(23), encoding: 'utf8' },
  { field: 'Subject', yaml: 'subject', oid: f(24), encoding: 'utf8' },
];

/** The fields a configuration's extension templates may name (each once), by JSON or YAML key. */
export const TEMPLATE_FIELDS: ReadonlyMap<string, ExtensionField> = (() => {
  const map = new Map<string, ExtensionField>();
  for (const spec of EXTENSION_SPECS) {
    map.set(spec.field.toLowerCase(), spec.field);
    map.set(spec.yaml, spec.field);
  }
  return map;
})();

export interface IdentityExtension {
  oid: string;
  /** The extnValue contents: raw string bytes (.1.1-.1.6) or a DER UTF8String (.1.8 and later). */
  value: Buffer;
  critical: false;
}

/** DER UTF8String (tag 12) holding `text`, as Go's asn1.MarshalWithParams(text, "utf8"). */
export function derUtf8String(text: string): Buffer {
  const content = Buffer.from(text, 'utf8');
  const n = content.length;
  let header: number[];
  if (n < 0x80) header = [0x0c, n];
  else if (n < 0x100) header = [0x0c, 0x81, n];
  else if (n < 0x10000) header = [0x0c, 0x82, n >> 8, n & 0xff];
  else if (n < 0x1000000) header = [0x0c, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  else throw new RangeError('extension value too long');
  return Buffer.concat([Buffer.from(header), content]);
}

/**
 * The extensions for `values` in Fulcio's order, skipping empty values as Fulcio does. Throws
 * when the issuer is empty (every Fulcio certificate names its issuer).
 */
export function renderExtensions(values: ExtensionValues): IdentityExtension[] {
  if (!values.Issuer) throw new Error('extensions must have a non-empty issuer');
  const out: IdentityExtension[] = [];
  for (const spec of EXTENSION_SPECS) {
    const value = values[spec.field];
    if (value === undefined || value === '') continue;
    out.push({ oid: spec.oid, value: spec.encoding === 'raw' ? Buffer.from(value, 'utf8') : derUtf8String(value), critical: false });
  }
  return out;
}
