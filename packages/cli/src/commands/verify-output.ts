// What `sigstack verify` prints: one human line, or (--output json) one JSON object for
// scripts: identity, issuer, the certificate's Fulcio extensions by name, log entries, signing
// times and, for DSSE bundles, the verified in-toto statement.

import type { VerificationResult } from '@sigstack/verify';

export type OutputFormat = 'text' | 'json';

export function describeResult(result: VerificationResult): string {
  const who = result.identity === undefined ? 'the managed key' : `${result.identity} (issuer ${result.issuer ?? 'unknown'})`;
  const logs = result.tlogEntries.map((e) => `${e.logUrl} index ${e.logIndex}`).join(', ');
  const when = result.signedAt[0]?.toISOString() ?? 'unknown time';
  return `Verified OK: signed by ${who}, logged at ${logs}, at ${when}`;
}

/** The JSON object of one verified bundle (`where` names the artifact and bundle in list runs). */
export function resultJson(result: VerificationResult, where: Record<string, string> = {}): Record<string, unknown> {
  const json: Record<string, unknown> = {
    ...where,
    verified: true,
    identity: result.identity ?? null,
    issuer: result.issuer ?? null,
    certificateExtensions: result.certificateExtensions ?? {},
    tlogEntries: result.tlogEntries,
    signedAt: result.signedAt.map((d) => new Date(d).toISOString()),
  };
  const statement = result.statement;
  if (statement) {
    json.statement = { _type: statement.type, subject: statement.subjects, predicateType: statement.predicateType, predicate: statement.predicate };
  }
  return json;
}

export function formatResult(result: VerificationResult, format: OutputFormat): string {
  return format === 'json' ? JSON.stringify(resultJson(result)) : describeResult(result);
}
