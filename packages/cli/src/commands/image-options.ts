// The flags every image command shares (which registry layout to write, registry credentials,
// plain HTTP), taken out of the argument list before the signing or verifying flags are parsed;
// and the rule that sends `sign` / `verify` of an image reference down the image path.

import { existsSync } from 'node:fs';
import { RegistryClient, looksLikeImageReference, parseImageReference, type ImageReference } from '@sigstack/oci';
import { CliError } from '../errors.js';

export type RegistryLayout = 'bundle' | 'legacy' | 'both';

export interface RegistryFlags {
  layout: RegistryLayout;
  username?: string;
  password?: string;
  allowInsecure: boolean;
}

export const REGISTRY_FLAGS_USAGE = `registry flags:
  --registry-layout L        where signatures are written: bundle (cosign v3: a sigstore bundle as an
                             OCI 1.1 referrer, default), legacy (cosign ≤ 2: the sha256-<hex>.sig/.att
                             tags) or both; reading always looks in both
  --registry-username U      registry credentials (with --registry-password P); else ~/.docker/config.json
  --registry-password P
  --allow-insecure-registry  plain HTTP, or HTTPS without certificate checks, to any registry (plain
                             HTTP to loopback is always allowed; a private CA: NODE_EXTRA_CA_CERTS)`;

const VALUE_FLAGS = new Set(['--registry-layout', '--registry-username', '--registry-password']);

/** Splits the registry flags off `args`; the rest is for the command's own parser. */
export function takeRegistryFlags(args: string[]): { flags: RegistryFlags; rest: string[] } {
  const flags: RegistryFlags = { layout: 'bundle', allowInsecure: false };
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (name === '--allow-insecure-registry') {
      flags.allowInsecure = true;
      continue;
    }
    if (!VALUE_FLAGS.has(name)) {
      rest.push(arg);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new CliError('USAGE', `${name} needs a value`);
    if (name === '--registry-layout') {
      if (value !== 'bundle' && value !== 'legacy' && value !== 'both') throw new CliError('USAGE', `--registry-layout must be bundle, legacy or both, not "${value}"`);
      flags.layout = value;
    } else if (name === '--registry-username') {
      flags.username = value;
    } else {
      flags.password = value;
    }
  }
  if ((flags.username === undefined) !== (flags.password === undefined)) throw new CliError('USAGE', '--registry-username and --registry-password go together');
  return { flags, rest };
}

export function registryClient(ref: ImageReference, flags: RegistryFlags): RegistryClient {
  return new RegistryClient(ref.registry, {
    ...(flags.username !== undefined && flags.password !== undefined ? { credentials: { username: flags.username, password: flags.password } } : {}),
    allowInsecure: flags.allowInsecure,
  });
}

export function imageReference(text: string): ImageReference {
  try {
    return parseImageReference(text);
  } catch (err) {
    throw new CliError('USAGE', (err as Error).message);
  }
}

/**
 * Whether `sign` / `attest` / `verify` / `verify-attestation` got an image: its one positional
 * argument is `REGISTRY/REPOSITORY:TAG` or `…@sha256:HEX` (REGISTRY a host with a dot, a port or
 * `localhost`) that is not an existing file, and no `--bundle` names a bundle file to verify.
 */
export function isImageInvocation(args: string[], command: 'sign' | 'verify'): boolean {
  if (command === 'verify' && args.some((a) => a === '--bundle' || a.startsWith('--bundle='))) return false;
  if (args.includes('--local-image') || args.some((a) => a.startsWith('--local-image='))) return true;
  const positional = args.filter((a, i) => !a.startsWith('-') && (i === 0 || !(args[i - 1] as string).startsWith('--') || (args[i - 1] as string).includes('=') || BOOLEAN_FLAGS.has(args[i - 1] as string)));
  return positional.some((a) => looksLikeImageReference(a, existsSync));
}

/** Flags that take no value (so the argument after them is positional). */
const BOOLEAN_FLAGS = new Set(['--oidc-device-flow', '--staging', '--allow-insecure-registry', '--offline', '--force']);
