// Rotating the stack's CA, TSA and CT log keys (`sigstack ca rotate`, `tsa rotate`, `ctlog
// rotate`; the stack stopped): what was in use is retired into a directory beside it, with only
// its certificates or public key kept (the private keys are deleted), and recorded in the stack's
// state with its end time; the next start makes the new key (and certificate) and writes the
// trusted root with the retired ones, each valid until it was rotated, then the new one.

import { createHash, createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509, pemDecodeAll, pemEncode } from '@sigstack/core';
import { ServiceError } from '../errors.js';
import { CA_FILES } from '../ca/keys/hierarchy.js';
import { TSA_FILES } from '../tsa/chain.js';
import { assertStackStopped } from '../log/shards.js';
import { loadPrivateKeyPem } from '../keys.js';

export type RotatedComponent = 'ca' | 'tsa' | 'ctlog';

/** A retired key as the state file records it. */
export interface RetiredRecord {
  /** Directory under the stack directory holding its certificates (chain.pem) or public key (public.pem). */
  dir: string;
  /** When it was first used / when it was rotated (ISO 8601). */
  start: string;
  end: string;
  /** For the CA and TSA: whether the root was replaced too. */
  root?: boolean;
}

export type RetiredState = Partial<Record<RotatedComponent, RetiredRecord[]>>;

/** Retired material, loaded for the trusted root. */
export interface RetiredChain {
  chain: Buffer[];
  start: string;
  end: string;
}
export interface RetiredKey {
  spki: Buffer;
  logId: Buffer;
  start: string;
  end: string;
}

const COMPONENT_DIR: Record<RotatedComponent, string> = { ca: 'ca', tsa: 'tsa', ctlog: 'ctlog' };

function readState(stackDir: string): Record<string, unknown> & { createdAt: string; retired?: RetiredState } {
  const path = join(stackDir, 'stack.json');
  if (!existsSync(path)) throw new ServiceError(400, 'STACK_NOT_FOUND', `${stackDir} is not a sigstack directory (no stack.json); give the --dir that \`sigstack up\` made`);
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown> & { createdAt: string; retired?: RetiredState };
}

function writeState(stackDir: string, state: Record<string, unknown>): void {
  const path = join(stackDir, 'stack.json');
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
  renameSync(`${path}.tmp`, path);
}

/** When the component's current key came into use: the last rotation, else the stack's first start. */
export function currentStart(state: { createdAt: string; retired?: RetiredState }, component: RotatedComponent): string {
  const list = state.retired?.[component] ?? [];
  return list.length > 0 ? list[list.length - 1]!.end : state.createdAt;
}

function certificatesIn(path: string): Buffer[] {
  if (!existsSync(path)) return [];
  return pemDecodeAll(readFileSync(path, 'utf8')).filter((b) => b.label === 'CERTIFICATE').map((b) => b.der);
}

function isoSecond(now: Date): string {
  return new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * Retires the CA's intermediate (or, with `root`, the whole hierarchy), the TSA's certificate
 * (or its root too), or the CT log's key and log. Returns what was recorded.
 */
export function rotateStackKey(stackDir: string, component: RotatedComponent, options: { root?: boolean; now?: Date } = {}): RetiredRecord {
  assertStackStopped(stackDir, `rotating the ${component} key`);
  const state = readState(stackDir);
  const end = isoSecond(options.now ?? new Date());
  const start = currentStart(state, component);
  if (Date.parse(end) <= Date.parse(start)) throw new ServiceError(409, 'ROTATION_TOO_SOON', `the ${component} key in use started at ${start}; rotate again a second later`);
  const list = state.retired?.[component] ?? [];
  const componentDir = join(stackDir, COMPONENT_DIR[component]);
  const retiredName = `${COMPONENT_DIR[component]}-retired-${list.length + 1}`;
  const retiredDir = join(stackDir, retiredName);
  const root = options.root === true;

  if (component === 'ctlog') {
    const keyPath = join(componentDir, 'ctlog-key.pem');
    if (!existsSync(keyPath)) throw new ServiceError(400, 'KEY_NOT_FOUND', `${keyPath} does not exist: start the stack once (sigstack up) before rotating`);
    const spki = loadPrivateKeyPem(keyPath, process.env.SIGSTACK_KEY_PASSWORD).publicKey.export({ type: 'spki', format: 'der' });
    renameSync(componentDir, retiredDir);
    writeFileSync(join(retiredDir, 'public.pem'), pemEncode('PUBLIC KEY', spki), { mode: 0o644 });
    rmSync(join(retiredDir, 'ctlog-key.pem'), { force: true });
  } else {
    const files =
      component === 'ca'
        ? { leafKey: CA_FILES.intermediateKey, leafCert: CA_FILES.intermediateCert, rootKey: CA_FILES.rootKey, rootCert: CA_FILES.rootCert }
        : { leafKey: TSA_FILES.key, leafCert: TSA_FILES.cert, rootKey: TSA_FILES.rootKey, rootCert: TSA_FILES.rootCert };
    const leaf = certificatesIn(join(componentDir, files.leafCert));
    const rootCert = certificatesIn(join(componentDir, files.rootCert));
    if (leaf.length === 0 || rootCert.length === 0) {
      throw new ServiceError(400, 'CERTIFICATE_NOT_FOUND', `${componentDir} has no ${files.leafCert} and ${files.rootCert}: start the stack once (sigstack up) before rotating, or rotate a CA given by files by replacing them`);
    }
    mkdirSync(retiredDir, { recursive: true, mode: 0o700 });
    // The chain as it was: the issuing certificate first, up to the root (as in trusted_root.json).
    const chain = [...leaf.slice(0, 1), ...rootCert.slice(0, 1)];
    writeFileSync(join(retiredDir, 'chain.pem'), chain.map((der) => pemEncode('CERTIFICATE', der)).join(''), { mode: 0o644 });
    for (const file of [files.leafKey, files.leafCert, ...(root ? [files.rootKey, files.rootCert] : [])]) rmSync(join(componentDir, file), { force: true });
  }

  const record: RetiredRecord = { dir: retiredName, start, end, ...(component !== 'ctlog' ? { root } : {}) };
  writeState(stackDir, { ...state, retired: { ...(state.retired ?? {}), [component]: [...list, record] } });
  return record;
}

/** The retired chains of the CA or the TSA, oldest first. */
export function retiredChains(stackDir: string, state: { retired?: RetiredState }, component: 'ca' | 'tsa'): RetiredChain[] {
  return (state.retired?.[component] ?? []).map((record) => {
    const chain = certificatesIn(join(stackDir, record.dir, 'chain.pem'));
    if (chain.length === 0) throw new ServiceError(500, 'RETIRED_CHAIN_MISSING', `${join(stackDir, record.dir, 'chain.pem')} is missing: restore it (the trusted root needs the retired ${component} chain to verify old signatures)`);
    return { chain, start: record.start, end: record.end };
  });
}

/** The retired roots among them (the CT log keeps accepting chains to them). */
export function retiredRoots(chains: RetiredChain[]): X509[] {
  return chains.map((c) => X509.fromDer(c.chain[c.chain.length - 1]!));
}

/** The retired CT log keys, oldest first. */
export function retiredCtKeys(stackDir: string, state: { retired?: RetiredState }): RetiredKey[] {
  return (state.retired?.ctlog ?? []).map((record) => {
    const path = join(stackDir, record.dir, 'public.pem');
    if (!existsSync(path)) throw new ServiceError(500, 'RETIRED_KEY_MISSING', `${path} is missing: restore it (the trusted root needs the retired CT log key to verify old SCTs)`);
    const spki = createPublicKey(readFileSync(path)).export({ type: 'spki', format: 'der' });
    return { spki, logId: createHash('sha256').update(spki).digest(), start: record.start, end: record.end };
  });
}
