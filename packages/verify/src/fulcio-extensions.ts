// Fulcio's certificate extensions (fulcio docs/oid-info.md, arc 1.3.6.1.4.1.57264.1): their
// names, how each value is encoded (the first six hold raw bytes, .8 onward a DER string), and
// the checks cosign's --certificate-github-workflow-* and a generic --certificate-extension make.

import { X509, CoreError } from '@sigstack/core';
import { fail } from './errors.js';

const ARC = '1.3.6.1.4.1.57264.1';

/** Name (as in the JSON output) → OID, and whether the value is raw bytes (deprecated OIDs). */
export const FULCIO_EXTENSIONS: Readonly<Record<string, { oid: string; raw: boolean }>> = {
  issuerV1: { oid: `${ARC}.1`, raw: true },
  githubWorkflowTrigger: { oid: `${ARC}.2`, raw: true },
  githubWorkflowSha: { oid: `${ARC}.3`, raw: true },
  githubWorkflowName: { oid: `${ARC}.4`, raw: true },
  githubWorkflowRepository: { oid: `${ARC}.5`, raw: true },
  githubWorkflowRef: { oid: `${ARC}.6`, raw: true },
  issuer: { oid: `${ARC}.8`, raw: false },
  buildSignerUri: { oid: `${ARC}.9`, raw: false },
  buildSignerDigest: { oid: `${ARC}.10`, raw: false },
  runnerEnvironment: { oid: `${ARC}.11`, raw: false },
  sourceRepositoryUri: { oid: `${ARC}.12`, raw: false },
  sourceRepositoryDigest: { oid: `${ARC}.13`, raw: false },
  sourceRepositoryRef: { oid: `${ARC}.14`, raw: false },
  sourceRepositoryIdentifier: { oid: `${ARC}.15`, raw: false },
  sourceRepositoryOwnerUri: { oid: `${ARC}.16`, raw: false },
  sourceRepositoryOwnerIdentifier: { oid: `${ARC}.17`, raw: false },
  buildConfigUri: { oid: `${ARC}.18`, raw: false },
  buildConfigDigest: { oid: `${ARC}.19`, raw: false },
  buildTrigger: { oid: `${ARC}.20`, raw: false },
  runInvocationUri: { oid: `${ARC}.21`, raw: false },
  sourceRepositoryVisibilityAtSigning: { oid: `${ARC}.22`, raw: false },
};

const RAW_OIDS = new Set(Object.values(FULCIO_EXTENSIONS).filter((e) => e.raw).map((e) => e.oid));

/** A required extension value; `flag` names it in errors (e.g. --certificate-github-workflow-sha). */
export interface ExtensionRequirement {
  oid: string;
  value: string;
  flag: string;
}

/**
 * The text of extension `oid`: raw bytes for Fulcio's deprecated OIDs (.1 to .6), a DER string
 * for the others (any other extension: its DER string, or its bytes as UTF-8 when not a string).
 */
export function extensionText(leaf: X509, oid: string): string | undefined {
  const ext = leaf.extension(oid);
  if (!ext) return undefined;
  if (RAW_OIDS.has(oid)) return ext.value.toString('utf8');
  try {
    return leaf.derStringExtension(oid);
  } catch (err) {
    if (!(err instanceof CoreError)) throw err;
    return ext.value.toString('utf8');
  }
}

/** Every Fulcio extension the certificate has, by name. */
export function fulcioExtensions(leaf: X509): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, { oid }] of Object.entries(FULCIO_EXTENSIONS)) {
    const text = extensionText(leaf, oid);
    if (text !== undefined) out[name] = text;
  }
  return out;
}

/** Throws EXTENSION_MISMATCH, saying what was expected and what was found, unless all hold. */
export function verifyExtensions(leaf: X509, requirements: readonly ExtensionRequirement[]): void {
  for (const { oid, value, flag } of requirements) {
    const found = extensionText(leaf, oid);
    if (found !== value) {
      fail('EXTENSION_MISMATCH', `${flag}: expected "${value}", found ${found === undefined ? `no extension ${oid} in the certificate` : `"${found}"`}`);
    }
  }
}
