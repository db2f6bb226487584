// The OpenAPI 3 description of the log's HTTP APIs, served at /api/v1/openapi.json.

const entryMap = { type: 'object', additionalProperties: { $ref: '#/components/schemas/LogEntryAnon' } };
const error = { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
const json = (schema: object) => ({ 'application/json': { schema } });

export const openApiDocument = {
  openapi: '3.0.3',
  info: { title: 'sigstack transparency log', version: '0.1.0', description: 'Rekor v1 and v2 compatible transparency log on C2SP tlog-tiles.' },
  paths: {
    '/api/v1/log': { get: { summary: 'Log info: root hash, tree size, signed checkpoint', responses: { 200: { description: 'LogInfo', content: json({ $ref: '#/components/schemas/LogInfo' }) }, default: error } } },
    '/api/v1/log/publicKey': { get: { summary: 'The log public key (PEM)', responses: { 200: { description: 'PEM', content: { 'application/x-pem-file': { schema: { type: 'string' } } } } } } },
    '/api/v1/log/proof': {
      get: {
        summary: 'Consistency proof between two tree sizes',
        parameters: [
          { name: 'firstSize', in: 'query', schema: { type: 'integer', minimum: 1 } },
          { name: 'lastSize', in: 'query', required: true, schema: { type: 'integer', minimum: 1 } },
        ],
        responses: { 200: { description: 'ConsistencyProof', content: json({ type: 'object', properties: { rootHash: { type: 'string' }, hashes: { type: 'array', items: { type: 'string' } } } }) }, 400: error },
      },
    },
    '/api/v1/log/entries': {
      post: {
        summary: 'Add an entry (hashedrekord, rekord, intoto, dsse, rfc3161)',
        requestBody: { required: true, content: json({ $ref: '#/components/schemas/ProposedEntry' }) },
        responses: { 201: { description: 'Created; ETag and Location headers', content: json(entryMap) }, 400: error, 409: { description: 'An equivalent entry exists; Location header', content: json({ $ref: '#/components/schemas/Error' }) }, 413: error },
      },
      get: { summary: 'An entry by index', parameters: [{ name: 'logIndex', in: 'query', required: true, schema: { type: 'integer', minimum: 0 } }], responses: { 200: { description: 'LogEntry', content: json(entryMap) }, 404: error } },
    },
    '/api/v1/log/entries/{entryUUID}': {
      get: { summary: 'An entry by UUID (64 hex) or entry ID (80 hex)', parameters: [{ name: 'entryUUID', in: 'path', required: true, schema: { type: 'string', pattern: '^([0-9a-fA-F]{16})?[0-9a-fA-F]{64}$' } }], responses: { 200: { description: 'LogEntry', content: json(entryMap) }, 404: error } },
    },
    '/api/v1/log/entries/retrieve': {
      post: { summary: 'Entries by UUIDs, indexes or content', requestBody: { content: json({ type: 'object', properties: { entryUUIDs: { type: 'array', items: { type: 'string' } }, logIndexes: { type: 'array', items: { type: 'integer' } }, entries: { type: 'array', items: { $ref: '#/components/schemas/ProposedEntry' } } } }) }, responses: { 200: { description: 'LogEntry list', content: json({ type: 'array', items: entryMap }) }, 400: error } },
    },
    '/api/v1/index/retrieve': {
      post: {
        summary: 'Search the index by artifact hash, email, subject or public key',
        requestBody: { content: json({ type: 'object', properties: { hash: { type: 'string' }, email: { type: 'string' }, subject: { type: 'string' }, publicKey: { type: 'object', properties: { format: { type: 'string', enum: ['x509', 'pgp', 'minisign', 'ssh'] }, content: { type: 'string', format: 'byte' } } }, operator: { type: 'string', enum: ['and', 'or'] } } }) },
        responses: { 200: { description: 'Entry IDs', content: json({ type: 'array', items: { type: 'string' } }) }, 400: error },
      },
    },
    '/api/v2/log/entries': {
      post: {
        summary: 'Rekor v2: add a hashedrekord or dsse entry; answers a TransparencyLogEntry',
        requestBody: { content: json({ type: 'object', properties: { hashedRekordRequestV002: { type: 'object' }, dsseRequestV002: { type: 'object' } } }) },
        responses: { 201: { description: 'TransparencyLogEntry (protobuf JSON)', content: json({ type: 'object' }) }, 200: { description: 'Already logged: the existing entry' }, 400: error, 413: error },
      },
    },
    '/checkpoint': { get: { summary: 'The latest signed checkpoint (C2SP signed note)', responses: { 200: { description: 'checkpoint', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
    '/tile/{path}': { get: { summary: 'C2SP tlog-tiles: tile/<L>/<N>[.p/<W>] and tile/entries/<N>[.p/<W>]', parameters: [{ name: 'path', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'tile bytes', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } }, 404: error } } },
    '/api/v1/explorer/search': {
      get: {
        summary: "The explorer's search: one page (20) of entries, newest first, with the count (see README: the search language)",
        parameters: [
          { name: 'q', in: 'query', schema: { type: 'string', maxLength: 1024 } },
          { name: 'page', in: 'query', schema: { type: 'integer', minimum: 1 } },
          { name: 'size', in: 'query', description: 'the tree size the first page saw (keeps later pages stable)', schema: { type: 'integer', minimum: 1 } },
        ],
        responses: { 200: { description: 'SearchResponse', content: json({ type: 'object', properties: { query: { type: 'string' }, treeSize: { type: 'integer' }, page: { type: 'integer' }, pageSize: { type: 'integer' }, count: { type: 'integer' }, countIsLowerBound: { type: 'boolean' }, entries: { type: 'array', items: { type: 'object' } } } }) }, 400: error },
      },
    },
    '/api/v1/explorer/fingerprint': {
      post: {
        summary: 'The search fingerprint (key:<hex>) of a PEM, OpenSSH, PGP or minisign public key',
        requestBody: { content: json({ type: 'object', required: ['key'], properties: { key: { type: 'string' }, format: { type: 'string', enum: ['x509', 'pgp', 'minisign', 'ssh'] } } }) },
        responses: { 200: { description: 'fingerprint', content: json({ type: 'object', properties: { format: { type: 'string' }, fingerprint: { type: 'string' } } }) }, 400: error },
      },
    },
    '/explorer/': { get: { summary: 'The log explorer page (also /explorer/entry/{uuid}, /explorer/index/{n})', responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } } } },
    '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'text exposition format' } } } },
  },
  components: {
    schemas: {
      Error: { type: 'object', properties: { code: { type: 'integer' }, error: { type: 'string' }, message: { type: 'string' } } },
      LogInfo: { type: 'object', properties: { rootHash: { type: 'string' }, treeSize: { type: 'integer' }, signedTreeHead: { type: 'string' }, treeID: { type: 'string' }, inactiveShards: { type: 'array', items: { type: 'object' } } } },
      ProposedEntry: { type: 'object', required: ['kind', 'apiVersion', 'spec'], properties: { kind: { type: 'string' }, apiVersion: { type: 'string' }, spec: { type: 'object' } } },
      LogEntryAnon: {
        type: 'object',
        properties: {
          body: { type: 'string', format: 'byte' },
          integratedTime: { type: 'integer' },
          logID: { type: 'string' },
          logIndex: { type: 'integer' },
          verification: { type: 'object', properties: { signedEntryTimestamp: { type: 'string', format: 'byte' }, inclusionProof: { type: 'object', properties: { logIndex: { type: 'integer' }, rootHash: { type: 'string' }, treeSize: { type: 'integer' }, hashes: { type: 'array', items: { type: 'string' } }, checkpoint: { type: 'string' } } } } },
        },
      },
    },
  },
} as const;
