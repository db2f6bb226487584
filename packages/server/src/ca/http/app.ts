// The CA's HTTP server, Fulcio's v2 REST API on Fastify: POST /api/v2/signingCert,
// GET /api/v2/trustBundle, GET /api/v2/configuration, plus /metrics and /healthz.

import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { challengeClaim, type OIDCIssuer, type OidcConfig } from '../oidc/config.js';
import { installErrorHandler } from '../../http-errors.js';
import { CaMetrics } from './metrics.js';
import type { SigningCertificateAuthority } from './signing-cert.js';

export interface CaAppOptions {
  ca: SigningCertificateAuthority;
  /** The issuers listed by /api/v2/configuration (the verifier's configuration). */
  oidcConfig: OidcConfig;
  /** Largest accepted request body in bytes (default 64 KiB: a token, a key and a signature, or a CSR). */
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'];
  /** Log every request (JSON, at info); off by default, errors are always logged. */
  logRequests?: boolean;
}

/** One issuer as Fulcio's GetConfiguration reports it (proto JSON names, empty fields left out). */
export interface ConfigurationIssuer {
  issuerUrl?: string;
  wildcardIssuerUrl?: string;
  audience: string;
  challengeClaim: string;
  spiffeTrustDomain?: string;
  issuerType: string;
  subjectDomain?: string;
  skipEmailVerification?: boolean;
}

function describeIssuer(issuer: OIDCIssuer): Omit<ConfigurationIssuer, 'issuerUrl' | 'wildcardIssuerUrl'> {
  return {
    audience: issuer.ClientID,
    challengeClaim: challengeClaim(issuer),
    ...(issuer.SPIFFETrustDomain ? { spiffeTrustDomain: issuer.SPIFFETrustDomain } : {}),
    issuerType: issuer.Type,
    ...(issuer.SubjectDomain ? { subjectDomain: issuer.SubjectDomain } : {}),
    ...(issuer.SkipEmailVerification ? { skipEmailVerification: true } : {}),
  };
}

/** Fulcio's Configuration message for an issuer configuration. */
export function configurationOf(config: OidcConfig): { issuers: ConfigurationIssuer[] } {
  const issuers: ConfigurationIssuer[] = [];
  for (const [url, issuer] of config.OIDCIssuers) issuers.push({ issuerUrl: url, ...describeIssuer(issuer) });
  for (const meta of config.MetaIssuers) issuers.push({ wildcardIssuerUrl: meta.pattern, ...describeIssuer(meta) });
  return { issuers };
}

export function buildCaApp(options: CaAppOptions): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? 64 * 1024;
  const app = Fastify({
    bodyLimit,
    logger: options.logger ?? false,
    logController: new LogController({ disableRequestLogging: !options.logRequests }),
    return503OnClosing: true,
  });
  // Requests are JSON (Fulcio's REST mapping); anything else is a 415.
  app.removeContentTypeParser('text/plain');
  const metrics = new CaMetrics();
  installErrorHandler(app, {
    bodyLimit,
    tooLarge: 'a signing certificate request (token, public key, proof of possession or CSR) is a few kilobytes',
    onError: (code) => metrics.observeRefused(code),
  });
  metrics.register(app);

  const trustBundle = { chains: [{ certificates: options.ca.chainPem }] };
  const configuration = configurationOf(options.oidcConfig);

  app.post('/api/v2/signingCert', async (request, reply) => {
    const started = performance.now();
    const authorization = request.headers.authorization;
    const issued = await options.ca.issue(request.body, typeof authorization === 'string' ? authorization : undefined);
    metrics.observeIssued(performance.now() - started);
    // Fulcio's v2 gateway answers 200 (only the legacy v1 API answers 201 Created).
    return reply.code(200).send(issued.response);
  });
  app.get('/api/v2/trustBundle', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return trustBundle;
  });
  app.get('/api/v2/configuration', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return configuration;
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  return app;
}
