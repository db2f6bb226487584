// @sigstack/server: the sigstack services.
export { ServiceError } from './errors.js';
