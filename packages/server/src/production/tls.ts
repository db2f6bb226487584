// The stack's listening socket: plain HTTP, or HTTPS from a certificate and key file that can be
// reloaded in place (`sigstack up` does on SIGHUP) without dropping connections.

import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import { ServiceError } from '../errors.js';

export interface TlsFiles {
  /** PEM certificate chain (the server's certificate first). */
  certPath: string;
  /** PEM private key. */
  keyPath: string;
}

interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/** Reads and checks the pair (a key that does not match the certificate is refused here). */
export function readTlsFiles(files: TlsFiles): TlsMaterial {
  let material: TlsMaterial;
  try {
    material = { cert: readFileSync(files.certPath), key: readFileSync(files.keyPath) };
  } catch (err) {
    throw new ServiceError(500, 'TLS_FILES_UNREADABLE', `cannot read the TLS certificate or key (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): check --tls-cert ${files.certPath} and --tls-key ${files.keyPath}`);
  }
  try {
    createSecureContext(material);
  } catch (err) {
    throw new ServiceError(500, 'TLS_FILES_INVALID', `--tls-cert ${files.certPath} and --tls-key ${files.keyPath} are not a PEM certificate chain and its private key (${(err as Error).message})`);
  }
  return material;
}

export interface StackServer {
  server: Server;
  /** Rereads the TLS files; on any error the current certificate stays in use and the error is thrown. */
  reloadTls(): void;
}

export function createStackServer(handler: (req: IncomingMessage, res: ServerResponse) => void, tls?: TlsFiles): StackServer {
  if (!tls) {
    return {
      server: createHttpServer(handler),
      reloadTls: () => {
        throw new ServiceError(500, 'TLS_NOT_CONFIGURED', 'the stack serves plain HTTP (start it with --tls-cert and --tls-key to serve HTTPS)');
      },
    };
  }
  const server: HttpsServer = createHttpsServer({ ...readTlsFiles(tls) }, handler);
  return {
    server: server as unknown as Server,
    reloadTls: () => server.setSecureContext(readTlsFiles(tls)),
  };
}
