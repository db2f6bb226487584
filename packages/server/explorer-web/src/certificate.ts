// X.509 certificates as the entry view shows them: subject, issuer, validity, SANs, and every
// Fulcio extension (1.3.6.1.4.1.57264.1.x, names from Fulcio's docs/oid-info.md: .1-.6 hold raw
// text, .8 and later a DER string), plus the OIDs of any other extension.

import { fromBase64, fromUtf8 } from './bytes.js';
import { children, oid, readDer, text, time, type Der } from './der.js';

export interface Certificate {
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  sans: { type: string; value: string }[];
  fulcio: { oid: string; name: string; value: string }[];
  otherExtensions: string[];
}

const FULCIO = '1.3.6.1.4.1.57264.1.';
const FULCIO_NAMES: Record<number, string> = {
  1: 'Issuer (deprecated)',
  2: 'GitHub Workflow Trigger (deprecated)',
  3: 'GitHub Workflow SHA (deprecated)',
  4: 'GitHub Workflow Name (deprecated)',
  5: 'GitHub Workflow Repository (deprecated)',
  6: 'GitHub Workflow Ref (deprecated)',
  7: 'OtherName SAN',
  8: 'Issuer',
  9: 'Build Signer URI',
  10: 'Build Signer Digest',
  11: 'Runner Environment',
  12: 'Source Repository URI',
  13: 'Source Repository Digest',
  14: 'Source Repository Ref',
  15: 'Source Repository Identifier',
  16: 'Source Repository Owner URI',
  17: 'Source Repository Owner Identifier',
  18: 'Build Config URI',
  19: 'Build Config Digest',
  20: 'Build Trigger',
  21: 'Run Invocation URI',
  22: 'Source Repository Visibility At Signing',
  23: 'Deployment Environment',
  24: 'Subject',
};

const NAME_ATTRIBUTES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

function name(node: Der): string {
  const parts: string[] = [];
  for (const rdn of children(node)) {
    for (const attribute of children(rdn)) {
      const [type, value] = children(attribute);
      if (!type || !value) continue;
      const id = oid(type);
      parts.push(`${NAME_ATTRIBUTES[id] ?? id}=${text(value)}`);
    }
  }
  return parts.join(', ');
}

function sans(extensionValue: Uint8Array): Certificate['sans'] {
  const out: Certificate['sans'] = [];
  for (const general of children(readDer(extensionValue))) {
    const kind = general.tag & 0x1f;
    if (kind === 1) out.push({ type: 'email', value: fromUtf8(general.value) });
    else if (kind === 2) out.push({ type: 'DNS', value: fromUtf8(general.value) });
    else if (kind === 6) out.push({ type: 'URI', value: fromUtf8(general.value) });
    else if (kind === 7) out.push({ type: 'IP', value: Array.from(general.value).join('.') });
    else if (kind === 0) {
      const [typeId, wrapped] = children(general);
      const inner = wrapped ? children(wrapped)[0] : undefined;
      out.push({ type: `otherName ${typeId ? oid(typeId) : '?'}`, value: inner ? text(inner) : '' });
    } else out.push({ type: `GeneralName [${kind}]`, value: '(not shown)' });
  }
  return out;
}

export function parseCertificate(der: Uint8Array): Certificate {
  const [tbs] = children(readDer(der));
  if (!tbs) throw new Error('not a certificate');
  const fields = children(tbs);
  let i = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version
  i += 2; // serial, signature algorithm
  const issuer = fields[i++]!;
  const validity = children(fields[i++]!);
  const subject = fields[i++]!;
  const certificate: Certificate = { subject: name(subject), issuer: name(issuer), notBefore: time(validity[0]!), notAfter: time(validity[1]!), sans: [], fulcio: [], otherExtensions: [] };
  const extensions = fields.find((f) => f.tag === 0xa3);
  for (const extension of extensions ? children(children(extensions)[0]!) : []) {
    const parts = children(extension);
    const id = oid(parts[0]!);
    const value = parts[parts.length - 1]!.value;
    if (id === '2.5.29.17') certificate.sans = sans(value);
    else if (id.startsWith(FULCIO)) {
      const n = Number(id.slice(FULCIO.length));
      const shown = n <= 6 ? fromUtf8(value) : text(readDer(value));
      certificate.fulcio.push({ oid: id, name: FULCIO_NAMES[n] ?? 'Fulcio extension', value: shown });
    } else certificate.otherExtensions.push(id);
  }
  return certificate;
}

/** A certificate from base64 of PEM or of DER (as entry bodies hold them), else undefined. */
export function certificateFromBase64(value: string): Uint8Array | undefined {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(value);
  } catch {
    return undefined;
  }
  const pem = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(fromUtf8(bytes.subarray(0, 64 * 1024)));
  if (pem) return fromBase64(pem[1]!);
  return bytes[0] === 0x30 ? bytes : undefined;
}
