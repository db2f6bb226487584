// Sigstore signing_config v0.2: which CA, OIDC provider, transparency logs and timestamp
// authorities a signer uses, each service with an API version and validity window, and the
// ANY / ALL / EXACT selectors for logs and TSAs.

import { CoreError } from './errors.js';
import { FieldReader } from './json-fields.js';
import { inTimeRange, type TimeRange } from './trusted-root.js';

export const SIGNING_CONFIG_V02_MEDIA_TYPE = 'application/vnd.dev.sigstore.signingconfig.v0.2+json';

export interface Service {
  url: string;
  majorApiVersion: number;
  validFor: TimeRange;
  operator: string;
}

export type ServiceSelector = 'ANY' | 'ALL' | 'EXACT';

export interface ServiceConfiguration {
  selector: ServiceSelector;
  /** Only for EXACT. */
  count?: number;
}

export interface SigningConfig {
  mediaType: string;
  caUrls: Service[];
  oidcUrls: Service[];
  rekorTlogUrls: Service[];
  rekorTlogConfig: ServiceConfiguration;
  tsaUrls: Service[];
  tsaConfig: ServiceConfiguration;
}

const f: FieldReader = new FieldReader('SIGNING_CONFIG_INVALID');

export function parseSigningConfig(json: unknown): SigningConfig {
  const doc = f.object(json, 'signing config');
  const mediaType = f.string(doc.mediaType, 'signing config mediaType');
  if (mediaType !== SIGNING_CONFIG_V02_MEDIA_TYPE) {
    throw new CoreError('SIGNING_CONFIG_INVALID', `signing config media type "${mediaType}" is not supported (expected ${SIGNING_CONFIG_V02_MEDIA_TYPE})`);
  }
  return {
    mediaType,
    caUrls: services(doc.caUrls, 'caUrls'),
    oidcUrls: services(doc.oidcUrls, 'oidcUrls'),
    rekorTlogUrls: services(doc.rekorTlogUrls, 'rekorTlogUrls'),
    rekorTlogConfig: serviceConfig(doc.rekorTlogConfig, 'rekorTlogConfig'),
    tsaUrls: services(doc.tsaUrls, 'tsaUrls'),
    tsaConfig: serviceConfig(doc.tsaConfig, 'tsaConfig'),
  };
}

function services(value: unknown, path: string): Service[] {
  return f.optionalArray(value, path).map((v, i) => {
    const s = f.object(v, `${path}[${i}]`);
    const validFor = f.object(s.validFor, `${path}[${i}].validFor`);
    const range: TimeRange = { start: f.date(validFor.start, `${path}[${i}].validFor.start`) };
    if (validFor.end !== undefined) range.end = f.date(validFor.end, `${path}[${i}].validFor.end`);
    return {
      url: f.nonEmptyString(s.url, `${path}[${i}].url`),
      majorApiVersion: f.integer(s.majorApiVersion ?? 1, `${path}[${i}].majorApiVersion`),
      validFor: range,
      operator: s.operator === undefined ? '' : f.string(s.operator, `${path}[${i}].operator`),
    };
  });
}

function serviceConfig(value: unknown, path: string): ServiceConfiguration {
  const config = f.optionalObject(value, path);
  if (!config) return { selector: 'ANY' };
  const text = f.string(config.selector, `${path}.selector`);
  if (text !== 'ANY' && text !== 'ALL' && text !== 'EXACT') f.fail(`${path}.selector`, 'must be ANY, ALL or EXACT');
  const selector: ServiceSelector = text;
  if (selector !== 'EXACT') return { selector };
  const count = f.integer(config.count, `${path}.count`);
  if (count < 1) f.fail(`${path}.count`, 'must be at least 1 for EXACT');
  return { selector, count };
}

/**
 * The services to use now, per the selector: the newest valid service per operator, at most
 * `supportedVersions` API versions, then ANY → one, ALL → all, EXACT → `count` of them.
 */
export function selectServices(services: Service[], config: ServiceConfiguration, supportedVersions: number[], now = new Date()): Service[] {
  const usable = services.filter((s) => supportedVersions.includes(s.majorApiVersion) && inTimeRange(s.validFor, now));
  const newestFirst = [...usable].sort((a, b) => b.majorApiVersion - a.majorApiVersion || b.validFor.start.getTime() - a.validFor.start.getTime());
  const byOperator = new Map<string, Service>();
  for (const service of newestFirst) if (!byOperator.has(service.operator)) byOperator.set(service.operator, service);
  const candidates = [...byOperator.values()];
  const wanted = config.selector === 'ANY' ? 1 : config.selector === 'EXACT' ? (config.count ?? 1) : candidates.length;
  if (candidates.length < wanted || candidates.length === 0) {
    throw new CoreError('SIGNING_CONFIG_NO_SERVICE', `signing config offers ${candidates.length} usable service(s) where ${config.selector} needs ${wanted || 1}`);
  }
  return candidates.slice(0, wanted);
}
