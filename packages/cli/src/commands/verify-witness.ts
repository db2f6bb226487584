// The witness flags of `sigstack verify`: --witness VKEY (repeatable) with --witness-threshold N
// (default: all), or --witness-policy FILE (a C2SP tlog-policy).

import { readFileSync } from 'node:fs';
import { witnessPolicyFromKeys, witnessPolicyFromText } from '@sigstack/verify';
import { CliError } from '../errors.js';

export const witnessOptions = {
  witness: { type: 'string', multiple: true },
  'witness-threshold': { type: 'string' },
  'witness-policy': { type: 'string' },
} as const;

export function witnessPolicyOf(v: { witness?: string[] | undefined; 'witness-threshold'?: string | undefined; 'witness-policy'?: string | undefined }) {
  const keys = v.witness ?? [];
  if (v['witness-policy'] !== undefined) {
    if (keys.length > 0 || v['witness-threshold'] !== undefined) throw new CliError('USAGE', '--witness-policy excludes --witness and --witness-threshold');
    let text: string;
    try {
      text = readFileSync(v['witness-policy'], 'utf8');
    } catch (err) {
      throw new CliError('FILE_UNREADABLE', `cannot read witness policy ${v['witness-policy']}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return witnessPolicyFromText(text, v['witness-policy']);
  }
  if (keys.length === 0) {
    if (v['witness-threshold'] !== undefined) throw new CliError('USAGE', '--witness-threshold needs --witness keys');
    return undefined;
  }
  const threshold = v['witness-threshold'] === undefined ? keys.length : Number(v['witness-threshold']);
  if (!/^\d+$/.test(v['witness-threshold'] ?? '1')) throw new CliError('USAGE', '--witness-threshold must be a whole number');
  return witnessPolicyFromKeys(keys, threshold);
}
