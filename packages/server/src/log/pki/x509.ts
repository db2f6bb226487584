// Placeholder for the x509 public key format, replaced by its implementation.
import type { PkiFormat } from './types.js';
import { ServiceError } from '../../errors.js';

export const x509Format: PkiFormat = {
  name: 'x509',
  parsePublicKey() {
    throw new ServiceError(501, 'PKI_FORMAT_UNAVAILABLE', 'x509 keys are not supported yet');
  },
  parseSignature() {
    throw new ServiceError(501, 'PKI_FORMAT_UNAVAILABLE', 'x509 signatures are not supported yet');
  },
};
