// The entry type registry: one table of every kind and version the log accepts, lookup by
// kind + apiVersion, and the two entry points the HTTP routes call: Rekor v1 proposed entries
// and Rekor v2 CreateEntryRequest objects.

import { CoreError } from '@sigstack/core';
import { ServiceError, badRequest } from '../../errors.js';
import { dsseV001 } from './dsse-v001.js';
import { dsseV002 } from './dsse-v002.js';
import { ENTRY_INVALID, invalid, isObject, obj, parseJsonInput, str } from './fields.js';
import { hashedrekordV001 } from './hashedrekord-v001.js';
import { hashedrekordV002 } from './hashedrekord-v002.js';
import { intotoV001 } from './intoto-v001.js';
import { intotoV002 } from './intoto-v002.js';
import { rekordV001 } from './rekord-v001.js';
import { rfc3161V001 } from './rfc3161-v001.js';
import type { CanonicalEntry, EntryType } from './types.js';

interface Registration {
  type: EntryType;
  /** Which API accepts it: Rekor v1 (/api/v1/log/entries) or Rekor v2 (/api/v2/log/entries). */
  api: 'v1' | 'v2';
  /** For v2 kinds: the CreateEntryRequest field that carries the request (JSON name, proto name). */
  request?: [string, string];
}

/** Every entry type, in one table. Adding a kind is one line here and one module. */
const REGISTRY: readonly Registration[] = [
  { type: hashedrekordV001, api: 'v1' },
  { type: rekordV001, api: 'v1' },
  { type: intotoV001, api: 'v1' },
  { type: intotoV002, api: 'v1' },
  { type: dsseV001, api: 'v1' },
  { type: rfc3161V001, api: 'v1' },
  { type: hashedrekordV002, api: 'v2', request: ['hashedRekordRequestV002', 'hashed_rekord_request_v002'] },
  { type: dsseV002, api: 'v2', request: ['dsseRequestV002', 'dsse_request_v002'] },
];

const show = (v: unknown) => (typeof v === 'string' ? v : `(${v === null ? 'null' : typeof v})`);

const names = (list: readonly Registration[]) => list.map((r) => `${r.type.kind} ${r.type.apiVersion}`).join(', ');

/** Runs an entry type, turning anything but a ServiceError into 400 ENTRY_INVALID (input never crashes the log). */
function guarded(type: EntryType): EntryType {
  return {
    kind: type.kind,
    apiVersion: type.apiVersion,
    async canonicalize(proposed: unknown): Promise<CanonicalEntry> {
      try {
        return await type.canonicalize(proposed);
      } catch (err) {
        if (err instanceof ServiceError) throw err;
        const detail = err instanceof CoreError ? err.message : 'the entry is malformed';
        throw new ServiceError(400, ENTRY_INVALID, `${type.kind} ${type.apiVersion} entry rejected: ${detail}`, { cause: err });
      }
    },
  };
}

const GUARDED = new Map(REGISTRY.map((r) => [r, guarded(r.type)]));

function find(kind: string, apiVersion: string, api?: 'v1' | 'v2'): Registration | undefined {
  return REGISTRY.find((r) => r.type.kind === kind && r.type.apiVersion === apiVersion && (api === undefined || r.api === api));
}

/** The entry type for a kind and version; ServiceError 400 ENTRY_KIND_UNSUPPORTED names the supported ones. */
export function entryType(kind: string, apiVersion: string): EntryType {
  const reg = typeof kind === 'string' && typeof apiVersion === 'string' ? find(kind, apiVersion) : undefined;
  if (!reg) throw badRequest('ENTRY_KIND_UNSUPPORTED', `entry kind ${show(kind)} version ${show(apiVersion)} is not supported (supported: ${names(REGISTRY)})`);
  return GUARDED.get(reg)!;
}

/** The kinds and versions the log accepts, per API. */
export function supportedEntryTypes(api?: 'v1' | 'v2'): { kind: string; apiVersion: string }[] {
  return REGISTRY.filter((r) => api === undefined || r.api === api).map((r) => ({ kind: r.type.kind, apiVersion: r.type.apiVersion }));
}

/**
 * Rekor v1: validates and canonicalizes a proposed entry (the JSON POSTed to
 * /api/v1/log/entries, as a value, text or bytes), reading its `kind` and `apiVersion`.
 */
export async function canonicalizeProposedEntry(json: unknown): Promise<CanonicalEntry> {
  const entry = obj(parseJsonInput(json, 'the proposed entry'), 'the proposed entry');
  const kind = str(entry.kind, 'kind');
  const apiVersion = str(entry.apiVersion, 'apiVersion');
  const reg = find(kind, apiVersion, 'v1');
  if (!reg) {
    const v1 = REGISTRY.filter((r) => r.api === 'v1');
    throw badRequest('ENTRY_KIND_UNSUPPORTED', `entry kind ${kind} version ${apiVersion} is not supported by the v1 API (supported: ${names(v1)})`);
  }
  return GUARDED.get(reg)!.canonicalize(entry);
}

/**
 * Rekor v2: validates and canonicalizes a CreateEntryRequest (the JSON POSTed to
 * /api/v2/log/entries), which holds exactly one of hashedRekordRequestV002 / dsseRequestV002.
 */
export async function canonicalizeV2Request(json: unknown): Promise<CanonicalEntry> {
  const request = obj(parseJsonInput(json, 'the request'), 'the request');
  const v2 = REGISTRY.filter((r) => r.api === 'v2' && r.request);
  const present = v2.filter((r) => r.request!.some((name) => request[name] !== undefined && request[name] !== null));
  const fields = v2.map((r) => r.request![0]).join(' or ');
  if (present.length === 0) throw invalid(`the request must hold ${fields}`);
  if (present.length > 1) throw invalid(`the request must hold exactly one of ${fields}, not several`);
  const reg = present[0]!;
  const [jsonName, protoName] = reg.request!;
  const inner = request[jsonName] ?? request[protoName];
  if (!isObject(inner)) throw invalid(`${jsonName} must be an object`);
  return GUARDED.get(reg)!.canonicalize(inner);
}

export type { CanonicalEntry, EntryType, IndexKey } from './types.js';
