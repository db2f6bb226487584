// Placeholder for the ssh public key format, replaced by its implementation.
import type { PkiFormat } from './types.js';
import { ServiceError } from '../../errors.js';

export const sshFormat: PkiFormat = {
  name: 'ssh',
  parsePublicKey() {
    throw new ServiceError(501, 'PKI_FORMAT_UNAVAILABLE', 'ssh keys are not supported yet');
  },
  parseSignature() {
    throw new ServiceError(501, 'PKI_FORMAT_UNAVAILABLE', 'ssh signatures are not supported yet');
  },
};
