// Reads the artifact argument of verify commands: a file path, or `sha256:<hex>` for a digest.

import { readFileSync } from 'node:fs';
import type { Artifact } from '@sigstack/verify';
import { CliError } from './errors.js';

const DIGEST = /^(sha256|sha384|sha512):([0-9a-fA-F]+)$/;
const LENGTHS = { sha256: 64, sha384: 96, sha512: 128 } as const;

export function readArtifact(arg: string): Artifact {
  const match = DIGEST.exec(arg);
  if (match) {
    const algorithm = match[1] as keyof typeof LENGTHS;
    const hex = match[2] as string;
    if (hex.length !== LENGTHS[algorithm]) {
      throw new CliError('ARTIFACT_DIGEST_INVALID', `${algorithm} digest must be ${LENGTHS[algorithm]} hex characters, got ${hex.length}`);
    }
    return { kind: 'digest', algorithm, digest: Buffer.from(hex, 'hex') };
  }
  try {
    return { kind: 'bytes', data: readFileSync(arg) };
  } catch (err) {
    throw new CliError('ARTIFACT_UNREADABLE', `cannot read artifact ${arg}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
