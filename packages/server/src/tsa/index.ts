// The RFC 3161 timestamp authority (sigstore/timestamp-authority's job): requests, the signing
// key and certificate chain, TimeStampResp / TimeStampToken making, and the HTTP service.
export { FAILURE_BITS, OID_TIME_STAMPING, SIGSTORE_TSA_POLICY, failureInfo, type TimestampHash, type TsaFailure } from './asn1.js';
export * from './request.js';
export * from './chain.js';
export * from './authority.js';
export * from './app.js';
export * from './service.js';
