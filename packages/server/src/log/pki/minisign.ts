// Placeholder for the minisign public key format, replaced by its implementation.
import type { PkiFormat } from './types.js';
import { ServiceError } from '../../errors.js';

export const minisignFormat: PkiFormat = {
  name: 'minisign',
  parsePublicKey() {
    throw new ServiceError(501, 'PKI_FORMAT_UNAVAILABLE', 'minisign keys are not supported yet');
  },
  parseSignature() {
    throw new ServiceError(501, 'PKI_FORMAT_UNAVAILABLE', 'minisign signatures are not supported yet');
  },
};
