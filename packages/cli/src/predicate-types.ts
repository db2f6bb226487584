// cosign's predicate type aliases for --type (attest and verify): a short name or a URI.

import { CliError } from './errors.js';

export const PREDICATE_TYPES: Readonly<Record<string, string>> = {
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  link: 'https://in-toto.io/Link/v1',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns',
  custom: 'https://cosign.sigstore.dev/attestation/v1',
};

/** The predicate type URI `type` names; a USAGE error for an unknown alias. */
export function predicateTypeFor(type: string): string {
  if (type.includes(':')) return type;
  const known = PREDICATE_TYPES[type.toLowerCase()];
  if (!known) throw new CliError('USAGE', `--type ${type} is neither a URI nor one of ${Object.keys(PREDICATE_TYPES).join(', ')}`);
  return known;
}
