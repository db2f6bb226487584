// The PKI format registry: every supported public key format, by the name entry bodies use.

import { badRequest } from '../../errors.js';
import { minisignFormat } from './minisign.js';
import { pgpFormat } from './pgp.js';
import { sshFormat } from './ssh.js';
import type { PkiFormat, PkiFormatName } from './types.js';
import { x509Format } from './x509.js';

const FORMATS: Record<PkiFormatName, PkiFormat> = {
  x509: x509Format,
  pgp: pgpFormat,
  minisign: minisignFormat,
  ssh: sshFormat,
};

export function pkiFormat(name: string): PkiFormat {
  const format = Object.hasOwn(FORMATS, name) ? FORMATS[name as PkiFormatName] : undefined;
  if (!format) throw badRequest('PKI_FORMAT_UNSUPPORTED', `public key format "${name}" is not supported (expected one of: ${Object.keys(FORMATS).join(', ')})`);
  return format;
}

export type { PkiFormat, PkiFormatName, PkiPublicKey, PkiSignature } from './types.js';
