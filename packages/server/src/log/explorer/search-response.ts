// The answer of GET /api/v1/explorer/search, as the log sends it and the page reads it (types
// only: the page's build includes this file, so both sides share one definition).

export interface SearchEntry {
  index: number;
  uuid: string;
  entryId: string;
  integratedTime: number;
  kind: string;
  apiVersion: string;
  identities: string[];
  digests: string[];
  keyFingerprints: string[];
}

export interface SearchResponse {
  query: string;
  treeSize: number;
  page: number;
  pageSize: number;
  count: number;
  countIsLowerBound: boolean;
  entries: SearchEntry[];
}
