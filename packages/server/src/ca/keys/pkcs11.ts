// The PKCS#11 (HSM) CA key backend over the native binding pkcs11js: options modelled on Fulcio's
// pkcs11ca (module, token, PIN, key label "PKCS11CA"); finds the key pair on the token and signs
// through externalSigner (ECDSA: digest here, CKM_ECDSA on the token; RSA: CKM_SHA*_RSA_PKCS).

import { createHash, createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import type * as Pkcs11Js from 'pkcs11js';
import { ServiceError } from '../../errors.js';
import { SIGNATURE_ALGORITHMS, externalSigner, type CaSignatureAlgorithm, type CaSigner } from './signer.js';

/** The npm package a PKCS#11 backend needs (a native addon over the Cryptoki C API). */
export const PKCS11_PACKAGE = 'pkcs11js';

export interface Pkcs11SignerOptions {
  /** Path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so, or the HSM vendor's library). */
  modulePath: string;
  /** The token holding the key, by label (or `slot`). */
  tokenLabel?: string;
  /** The slot: its ID as the module reports it, or else its index among the slots that hold a token. */
  slot?: number;
  /** The user PIN of the token. */
  pin: string;
  /** CKA_LABEL of the private key; Fulcio's default is "PKCS11CA" (used when neither label nor id is given). */
  keyLabel?: string;
  /** CKA_ID of the private key, when labels are ambiguous. */
  keyId?: Buffer;
  /** Defaults to the key's natural algorithm (e.g. ecdsa-with-SHA384 for P-384). */
  algorithm?: CaSignatureAlgorithm;
}

/** A CaSigner whose key stays on a PKCS#11 token; `close()` ends its session (and the module when last). */
export interface Pkcs11Signer extends CaSigner {
  close(): void;
}

type Binding = typeof Pkcs11Js;
type Module = Pkcs11Js.PKCS11;

function pkcs11Error(code: string, message: string, cause?: unknown): ServiceError {
  return new ServiceError(500, code, message, cause === undefined ? undefined : { cause });
}

/** The Cryptoki return value name of a pkcs11js error (e.g. "CKR_PIN_INCORRECT"), if it is one. */
function ckr(err: unknown): string | undefined {
  const message = err instanceof Error ? err.message : '';
  const match = /CKR_[A-Z_]+/.exec(message);
  return match ? match[0] : undefined;
}

function describe(err: unknown): string {
  return ckr(err) ?? (err instanceof Error ? err.message : String(err));
}

// One initialized module per path, shared by every signer on it (Cryptoki may be initialized once per process).
interface LoadedModule {
  binding: Binding;
  module: Module;
  refs: number;
  /** Whether we called C_Initialize (and so C_Finalize when the last signer closes). */
  owned: boolean;
}
const modules = new Map<string, LoadedModule>();

async function binding(where: string): Promise<Binding> {
  try {
    const name = PKCS11_PACKAGE;
    const imported = (await import(name)) as Binding & { default?: Binding };
    return imported.default ?? imported;
  } catch (err) {
    throw pkcs11Error(
      'PKCS11_UNAVAILABLE',
      `PKCS#11 CA keys (${where}) are not available in this build: install the optional package "${PKCS11_PACKAGE}" ` +
        '(npm install pkcs11js; it compiles a native addon) and a PKCS#11 module such as SoftHSM2, or use a PEM key file (optionally encrypted) instead',
      err,
    );
  }
}

async function openModule(modulePath: string, where: string): Promise<LoadedModule> {
  const cached = modules.get(modulePath);
  if (cached) {
    cached.refs++;
    return cached;
  }
  const lib = await binding(where);
  if (!existsSync(modulePath)) {
    throw pkcs11Error('PKCS11_MODULE_NOT_FOUND', `the PKCS#11 module ${modulePath} does not exist: give the path of your HSM vendor's library (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so)`);
  }
  const module = new lib.PKCS11();
  try {
    module.load(modulePath);
  } catch (err) {
    throw pkcs11Error('PKCS11_MODULE_NOT_FOUND', `${modulePath} could not be loaded as a PKCS#11 module (${describe(err)}): give the path of a PKCS#11 library built for this machine`, err);
  }
  let owned = true;
  try {
    module.C_Initialize();
  } catch (err) {
    if (ckr(err) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
      try {
        module.close();
      } catch {
        // nothing more to release
      }
      throw pkcs11Error('PKCS11_ERROR', `the PKCS#11 module ${modulePath} failed to initialize (${describe(err)}): check its configuration (SoftHSM2: SOFTHSM2_CONF and its token directory)`, err);
    }
    owned = false;
  }
  const loaded: LoadedModule = { binding: lib, module, refs: 1, owned };
  modules.set(modulePath, loaded);
  return loaded;
}

function releaseModule(modulePath: string, loaded: LoadedModule): void {
  loaded.refs--;
  if (loaded.refs > 0) return;
  modules.delete(modulePath);
  try {
    if (loaded.owned) loaded.module.C_Finalize();
  } catch {
    // finalizing is best effort
  }
  try {
    loaded.module.close();
  } catch {
    // unloading is best effort
  }
}

function handleNumber(handle: Buffer): number {
  return handle.length >= 8 ? Number(handle.readBigUInt64LE(0)) : handle.readUInt32LE(0);
}

function findSlot(lib: Binding, module: Module, options: Pkcs11SignerOptions): Buffer {
  const slots = module.C_GetSlotList(true);
  const tokens = slots.map((slot) => {
    try {
      return { slot, label: module.C_GetTokenInfo(slot).label.trim(), flags: module.C_GetTokenInfo(slot).flags };
    } catch {
      return { slot, label: '', flags: 0 };
    }
  });
  const initialized = tokens.filter((t) => (t.flags & lib.CKF_TOKEN_INITIALIZED) !== 0);
  const known = initialized.map((t) => `"${t.label}"`).join(', ') || 'none';
  if (options.tokenLabel !== undefined) {
    const found = initialized.find((t) => t.label === options.tokenLabel);
    if (!found) {
      throw pkcs11Error('PKCS11_TOKEN_NOT_FOUND', `no token labelled "${options.tokenLabel}" in ${options.modulePath} (tokens: ${known}): check the token label, or create the token (softhsm2-util --init-token)`);
    }
    return found.slot;
  }
  if (options.slot !== undefined) {
    const wanted = options.slot;
    const found = tokens.find((t) => handleNumber(t.slot) === wanted) ?? tokens[wanted];
    if (!found || !Number.isInteger(wanted) || wanted < 0) {
      throw pkcs11Error('PKCS11_TOKEN_NOT_FOUND', `no token in slot ${wanted} of ${options.modulePath} (tokens: ${known}): give the token label instead`);
    }
    return found.slot;
  }
  throw pkcs11Error('PKCS11_TOKEN_NOT_FOUND', `name the PKCS#11 token that holds the CA key, by label or slot (tokens in ${options.modulePath}: ${known})`);
}

function findObjects(module: Module, session: Buffer, template: Pkcs11Js.Template): Buffer[] {
  module.C_FindObjectsInit(session, template);
  try {
    return module.C_FindObjects(session, 16);
  } finally {
    module.C_FindObjectsFinal(session);
  }
}

function keyTemplate(lib: Binding, cls: number, label: string | undefined, id: Buffer | undefined): Pkcs11Js.Template {
  const template: Pkcs11Js.Template = [{ type: lib.CKA_CLASS, value: cls }];
  if (label !== undefined) template.push({ type: lib.CKA_LABEL, value: label });
  if (id !== undefined) template.push({ type: lib.CKA_ID, value: id });
  return template;
}

const EC_CURVES: Record<string, { crv: 'P-256' | 'P-384' | 'P-521'; size: number }> = {
  '06082a8648ce3d030107': { crv: 'P-256', size: 32 },
  '06052b81040022': { crv: 'P-384', size: 48 },
  '06052b81040023': { crv: 'P-521', size: 66 },
};

/** The uncompressed point from CKA_EC_POINT: DER OCTET STRING (as the standard says) or raw (some modules). */
function ecPoint(value: Buffer, size: number): Buffer {
  const raw = 2 * size + 1;
  if (value.length === raw && value[0] === 0x04) return value;
  if (value[0] === 0x04) {
    let offset = 2;
    let length = value[1] ?? 0;
    if (length & 0x80) {
      const n = length & 0x7f;
      length = 0;
      for (let i = 0; i < n; i++) length = (length << 8) | (value[2 + i] ?? 0);
      offset = 2 + n;
    }
    const inner = value.subarray(offset, offset + length);
    if (inner.length === raw && inner[0] === 0x04) return inner;
  }
  throw new Error(`CKA_EC_POINT is not an uncompressed point on this curve (${value.length} bytes)`);
}

function publicKeySpki(lib: Binding, module: Module, session: Buffer, handle: Buffer): Buffer {
  const [keyType] = module.C_GetAttributeValue(session, handle, [{ type: lib.CKA_KEY_TYPE }]);
  const type = keyType ? keyType.value.readUIntLE(0, Math.min(keyType.value.length, 6)) : -1;
  if (type === lib.CKK_EC) {
    const attrs = module.C_GetAttributeValue(session, handle, [{ type: lib.CKA_EC_PARAMS }, { type: lib.CKA_EC_POINT }]);
    const params = attrs[0]?.value ?? Buffer.alloc(0);
    const curve = EC_CURVES[params.toString('hex')];
    if (!curve) throw pkcs11Error('CA_KEY_UNSUPPORTED', `the PKCS#11 key is on an unsupported curve (EC params ${params.toString('hex')}): use ECDSA P-384 (recommended), P-256 or P-521`);
    const point = ecPoint(attrs[1]?.value ?? Buffer.alloc(0), curve.size);
    const x = point.subarray(1, 1 + curve.size).toString('base64url');
    const y = point.subarray(1 + curve.size).toString('base64url');
    return createPublicKey({ key: { kty: 'EC', crv: curve.crv, x, y }, format: 'jwk' }).export({ type: 'spki', format: 'der' }) as Buffer;
  }
  if (type === lib.CKK_RSA) {
    const attrs = module.C_GetAttributeValue(session, handle, [{ type: lib.CKA_MODULUS }, { type: lib.CKA_PUBLIC_EXPONENT }]);
    const n = (attrs[0]?.value ?? Buffer.alloc(0)).toString('base64url');
    const e = (attrs[1]?.value ?? Buffer.alloc(0)).toString('base64url');
    return createPublicKey({ key: { kty: 'RSA', n, e }, format: 'jwk' }).export({ type: 'spki', format: 'der' }) as Buffer;
  }
  throw pkcs11Error('CA_KEY_UNSUPPORTED', `the PKCS#11 key has key type ${type}: use an ECDSA (P-384 recommended) or RSA key`);
}

/**
 * Opens a session on the token, logs in, finds the private key (CKO_PRIVATE_KEY + label/id) and
 * its public half (CKO_PUBLIC_KEY, same label/id), and returns a signer over them. Signatures
 * are made one at a time on that session; `close()` ends it (the module is finalized with its
 * last signer, and at process exit).
 */
export async function loadPkcs11Signer(options: Pkcs11SignerOptions): Promise<Pkcs11Signer> {
  const keyLabel = options.keyLabel ?? (options.keyId === undefined ? 'PKCS11CA' : undefined);
  const keyName = [keyLabel !== undefined ? `label "${keyLabel}"` : '', options.keyId !== undefined ? `id ${options.keyId.toString('hex')}` : ''].filter(Boolean).join(' ');
  const where = `${options.modulePath}${options.tokenLabel !== undefined ? ` token "${options.tokenLabel}"` : options.slot !== undefined ? ` slot ${options.slot}` : ''} key ${keyName}`;
  const loaded = await openModule(options.modulePath, where);
  const { binding: lib, module } = loaded;
  let session: Buffer | undefined;
  const cleanup = (): void => {
    if (session !== undefined) {
      try {
        module.C_CloseSession(session);
      } catch {
        // already gone
      }
      session = undefined;
    }
    releaseModule(options.modulePath, loaded);
  };
  try {
    const slot = findSlot(lib, module, options);
    try {
      session = module.C_OpenSession(slot, lib.CKF_SERIAL_SESSION | lib.CKF_RW_SESSION);
    } catch (err) {
      throw pkcs11Error('PKCS11_ERROR', `cannot open a session on ${where} (${describe(err)})`, err);
    }
    try {
      module.C_Login(session, lib.CKU_USER, options.pin);
    } catch (err) {
      const code = ckr(err);
      if (code === 'CKR_PIN_INCORRECT') throw pkcs11Error('PKCS11_PIN_INCORRECT', `the PIN for ${where} is incorrect: give the token's user PIN (not the SO PIN)`, err);
      if (code === 'CKR_PIN_LOCKED') throw pkcs11Error('PKCS11_PIN_LOCKED', `the user PIN of ${where} is locked after too many wrong attempts: have the security officer reset it`, err);
      if (code !== 'CKR_USER_ALREADY_LOGGED_IN') throw pkcs11Error('PKCS11_LOGIN_FAILED', `cannot log in to ${where} (${code ?? describe(err)})`, err);
    }
    const privateKeys = findObjects(module, session, keyTemplate(lib, lib.CKO_PRIVATE_KEY, keyLabel, options.keyId));
    if (privateKeys.length === 0) {
      const labels = findObjects(module, session, [{ type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY }])
        .map((h) => module.C_GetAttributeValue(session as Buffer, h, [{ type: lib.CKA_LABEL }])[0]?.value.toString('utf8') ?? '')
        .map((l) => `"${l}"`);
      throw pkcs11Error(
        'PKCS11_KEY_NOT_FOUND',
        `no private key with ${keyName} on ${options.tokenLabel !== undefined ? `token "${options.tokenLabel}"` : options.modulePath} (private keys there: ${labels.join(', ') || 'none'}): ` +
          'check the key label / id, or create the key pair (e.g. pkcs11-tool --keypairgen --key-type EC:secp384r1 --label PKCS11CA)',
      );
    }
    if (privateKeys.length > 1) {
      throw pkcs11Error('PKCS11_KEY_AMBIGUOUS', `${privateKeys.length} private keys match ${keyName} on ${where}: give the key's CKA_ID (keyId) too`);
    }
    const privateKey = privateKeys[0] as Buffer;
    // The public half: same label/id; a private key found by label alone is paired by its CKA_ID.
    let keyId = options.keyId;
    if (keyId === undefined) {
      const id = module.C_GetAttributeValue(session, privateKey, [{ type: lib.CKA_ID }])[0]?.value;
      if (id !== undefined && id.length > 0) keyId = id;
    }
    let publicKeys = findObjects(module, session, keyTemplate(lib, lib.CKO_PUBLIC_KEY, keyLabel, keyId));
    if (publicKeys.length === 0 && keyId !== undefined && options.keyId === undefined) publicKeys = findObjects(module, session, keyTemplate(lib, lib.CKO_PUBLIC_KEY, keyLabel, undefined));
    if (publicKeys.length !== 1) {
      throw pkcs11Error('PKCS11_KEY_NOT_FOUND', `${publicKeys.length === 0 ? 'no' : 'more than one'} public key matches ${keyName} on ${where}: the CA needs the key pair's public key object (same label and id)`);
    }
    let spki: Buffer;
    try {
      spki = publicKeySpki(lib, module, session, publicKeys[0] as Buffer);
    } catch (err) {
      if (err instanceof ServiceError) throw err;
      throw pkcs11Error('PKCS11_KEY_INVALID', `cannot read the public key ${keyName} on ${where} (${describe(err)})`, err);
    }

    const open = session;
    let closed = false;
    let queue: Promise<unknown> = Promise.resolve();
    let mechanism = 0;
    let input: (message: Buffer) => Buffer = (message) => message;
    const signOnce = async (message: Buffer): Promise<Buffer> => {
      if (closed) throw pkcs11Error('PKCS11_CLOSED', `the PKCS#11 signer for ${where} was closed`);
      try {
        module.C_SignInit(open, { mechanism }, privateKey);
        return Buffer.from(await module.C_SignAsync(open, input(message), Buffer.alloc(1024)));
      } catch (err) {
        throw pkcs11Error('PKCS11_SIGN_FAILED', `the token refused to sign with ${where} (${describe(err)})`, err);
      }
    };
    const signer = externalSigner({
      spki,
      ...(options.algorithm !== undefined ? { algorithm: options.algorithm } : {}),
      description: `pkcs11:${where}`,
      ecdsaEncoding: 'ieee-p1363',
      signMessage(message: Buffer): Promise<Buffer> {
        // One operation at a time on the one session: C_SignInit … C_Sign must not interleave.
        const result = queue.then(() => signOnce(message));
        queue = result.catch(() => undefined);
        return result;
      },
    });
    const info = SIGNATURE_ALGORITHMS[signer.algorithm];
    if (info.keyType === 'ec' && info.hash !== null) {
      const hash = info.hash;
      mechanism = lib.CKM_ECDSA;
      input = (message) => createHash(hash).update(message).digest();
    } else if (info.keyType === 'rsa') {
      mechanism = info.hash === 'sha384' ? lib.CKM_SHA384_RSA_PKCS : info.hash === 'sha512' ? lib.CKM_SHA512_RSA_PKCS : lib.CKM_SHA256_RSA_PKCS;
    } else {
      throw pkcs11Error('CA_KEY_UNSUPPORTED', `PKCS#11 keys signing with ${signer.algorithm} are not supported: use an ECDSA or RSA key`);
    }
    const onExit = (): void => close();
    const close = (): void => {
      if (closed) return;
      closed = true;
      process.removeListener('exit', onExit);
      cleanup();
    };
    process.once('exit', onExit);
    return Object.assign(signer, { close });
  } catch (err) {
    cleanup();
    if (err instanceof ServiceError) throw err;
    throw pkcs11Error('PKCS11_ERROR', `PKCS#11 error on ${where}: ${describe(err)}`, err);
  }
}
