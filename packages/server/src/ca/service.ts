// Starts the keyless CA service: the CA hierarchy kept in a data directory (or a file CA), the
// Fulcio-format issuer configuration, a CT log to get SCTs from, and the HTTP server on a port.

import { mkdirSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { ServiceError } from '../errors.js';
import type { CtSubmitter } from '../ctlog/types.js';
import { httpCtSubmitter } from '../ctlog/client.js';
import { createCaHierarchy, loadFileCa, type CaKeyType, type CaSigner } from './keys/index.js';
import { loadOidcConfig, parseOidcConfig, type OidcConfig } from './oidc/config.js';
import { TokenVerifier, type TokenVerifierOptions } from './oidc/verify-token.js';
import { buildCaApp } from './http/app.js';
import { SigningCertificateAuthority } from './http/signing-cert.js';

export interface CaServiceOptions {
  /** Data directory (created): the CA hierarchy's keys and certificates, reused on restart. */
  dir: string;
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** The issuer configuration file (Fulcio's format, JSON or YAML)… */
  oidcConfigPath?: string;
  /** …or the configuration itself (parsed, or its text). */
  oidcConfig?: OidcConfig | string;
  /** The CT log to record precertificates in: in process… */
  ctSubmitter?: CtSubmitter;
  /** …or an RFC 6962 log at this URL (add-pre-chain; the base URL, or one ending in /ct/v1). */
  ctUrl?: string;
  /** The CT log's public key (KeyObject, PEM or DER SPKI): every SCT is checked against it before it is embedded. */
  ctPublicKey?: KeyObject | string | Buffer;
  /** Password of the CA key files in `dir` (written encrypted on first start; needed after). */
  caKeyPassword?: string;
  /** Instead of the hierarchy in `dir`: the issuing CA's PEM key (Fulcio's fileca)… */
  caKeyPath?: string;
  /** …and its PEM chain, the issuing certificate first, up to the root. */
  caChainPath?: string;
  /** Or, with caChainPath, a key held elsewhere (e.g. loadPkcs11Signer: an HSM or SoftHSM2 token). */
  caSigner?: CaSigner;
  /** Key type of a newly created hierarchy (root and intermediate; default DEFAULT_CA_KEY_TYPE, P-256). */
  caKeyType?: CaKeyType;
  /** Subject O of a newly created hierarchy's certificates (default "sigstack"). */
  organization?: string;
  /** Certificate validity in minutes (default 10). */
  validityMinutes?: number;
  tokenVerifierOptions?: TokenVerifierOptions;
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'];
  logRequests?: boolean;
}

export interface CaService {
  url: string;
  app: FastifyInstance;
  ca: SigningCertificateAuthority;
  verifier: TokenVerifier;
  oidcConfig: OidcConfig;
  /** The certificates above a leaf, issuing certificate first, up to the root (DER). */
  chain: Buffer[];
  /** Whether the CA hierarchy was created by this start. */
  created: boolean;
  close(): Promise<void>;
}

function usage(message: string): ServiceError {
  return new ServiceError(500, 'CONFIG_INVALID', message);
}

function resolveOidcConfig(options: CaServiceOptions): OidcConfig {
  if (options.oidcConfig !== undefined && options.oidcConfigPath !== undefined) throw usage('give the CA an issuer configuration either as a file (oidcConfigPath) or inline (oidcConfig), not both');
  if (typeof options.oidcConfig === 'string') return parseOidcConfig(options.oidcConfig);
  if (options.oidcConfig !== undefined) return options.oidcConfig;
  if (options.oidcConfigPath !== undefined) return loadOidcConfig(options.oidcConfigPath);
  throw usage('the CA needs an OIDC issuer configuration (Fulcio format): give oidcConfigPath (--oidc-config FILE)');
}

export async function startCaService(options: CaServiceOptions): Promise<CaService> {
  const host = options.host ?? '127.0.0.1';
  const oidcConfig = resolveOidcConfig(options);
  if (options.ctSubmitter !== undefined && options.ctUrl !== undefined) throw usage('give the CA one CT log: ctSubmitter or ctUrl, not both');
  if (options.ctSubmitter === undefined && options.ctUrl === undefined) {
    throw usage('the CA needs a certificate transparency log to embed SCTs from: give ctUrl (--ct-url URL of an RFC 6962 log)');
  }
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });

  let issuer;
  let chain: Buffer[];
  let created = false;
  if (options.caKeyPath !== undefined || options.caChainPath !== undefined || options.caSigner !== undefined) {
    if ((options.caKeyPath === undefined && options.caSigner === undefined) || options.caChainPath === undefined) {
      throw usage('a file CA needs its key (caKeyPath / --ca-key PEM, or a PKCS#11 key) and its PEM chain (caChainPath, --ca-chain: the issuing certificate first, up to the root)');
    }
    const loaded = loadFileCa({
      chainPath: options.caChainPath,
      ...(options.caSigner ? { signer: options.caSigner } : { keyPath: options.caKeyPath as string }),
      ...(options.caKeyPassword !== undefined ? { passphrase: options.caKeyPassword } : {}),
    });
    issuer = loaded.issuer;
    chain = loaded.chain;
  } else {
    const hierarchy = await createCaHierarchy({
      dir: options.dir,
      ...(options.caKeyPassword !== undefined ? { passphrase: options.caKeyPassword } : {}),
      ...(options.caKeyType !== undefined ? { rootKeyType: options.caKeyType, intermediateKeyType: options.caKeyType } : {}),
      ...(options.organization !== undefined ? { organization: options.organization } : {}),
    });
    issuer = hierarchy.issuer;
    chain = hierarchy.chain;
    created = hierarchy.created;
  }

  // SCTs are checked by the CA itself (against the precertificate it just built), so the client need not.
  const ctSubmitter = options.ctSubmitter ?? httpCtSubmitter(options.ctUrl!);
  const verifier = new TokenVerifier(oidcConfig, options.tokenVerifierOptions);
  const ca = new SigningCertificateAuthority({
    issuer,
    chain,
    verifier,
    ctSubmitter,
    ...(options.ctPublicKey !== undefined ? { ctPublicKey: options.ctPublicKey } : {}),
    ...(options.validityMinutes !== undefined ? { validityMinutes: options.validityMinutes } : {}),
  });
  const app = buildCaApp({
    ca,
    oidcConfig,
    ...(options.bodyLimit !== undefined ? { bodyLimit: options.bodyLimit } : {}),
    logger: options.logger ?? false,
    ...(options.logRequests !== undefined ? { logRequests: options.logRequests } : {}),
  });
  for (const warning of oidcConfig.warnings) app.log.warn(`OIDC issuer configuration: ${warning}`);
  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address() as { port: number };
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    app,
    ca,
    verifier,
    oidcConfig,
    chain,
    created,
    close: () => app.close(),
  };
}
