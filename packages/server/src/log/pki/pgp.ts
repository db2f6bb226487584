// Placeholder for the pgp public key format, replaced by its implementation.
import type { PkiFormat } from './types.js';
import { ServiceError } from '../../errors.js';

export const pgpFormat: PkiFormat = {
  name: 'pgp',
  parsePublicKey() {
    throw new ServiceError(501, 'PKI_FORMAT_UNAVAILABLE', 'pgp keys are not supported yet');
  },
  parseSignature() {
    throw new ServiceError(501, 'PKI_FORMAT_UNAVAILABLE', 'pgp signatures are not supported yet');
  },
};
