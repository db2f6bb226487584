// The entry view: kind, index, UUID, time; the decoded certificate (subject, SANs, issuer,
// validity, Fulcio extensions with links); keys; the artifact digest (a link that searches it);
// DSSE details; the raw canonical body (truncated when huge, with "show all" and "download");
// and the result of checking it in the browser (role="status" verified / role="alert" failed).

import { search, type SearchEntry } from './api.js';
import { decodeBody, type DecodedBody } from './body.js';
import { fromUtf8, hex } from './bytes.js';
import { parseCertificate, type Certificate } from './certificate.js';
import type { LogKey } from './checkpoint.js';
import { VerificationError } from './checkpoint.js';
import { append, h, replace, safeLink } from './dom.js';
import { isTileEntry, verifyEntry } from './verify.js';
import { copyButton, pageLink, searchPath, timeElement } from './widgets.js';

/** Raw bodies longer than this are cut until "Show all". */
const RAW_LIMIT = 32 * 1024;

function row(label: string, ...value: (Node | string | null)[]): HTMLElement {
  return h('div', { class: 'field' }, h('dt', {}, label), h('dd', {}, ...value));
}

function fulcioValue(certificate: Certificate, name: string, value: string): Node {
  if (/^https?:\/\//.test(value)) return safeLink(value);
  // A commit digest links to the commit when the source repository is a URL.
  if (/Digest$|SHA/.test(name) && /^[0-9a-f]{40}$/.test(value)) {
    const repo = certificate.fulcio.find((f) => f.name === 'Source Repository URI')?.value;
    if (repo && /^https:\/\//.test(repo)) return safeLink(`${repo.replace(/\/$/, '')}/commit/${value}`, value);
  }
  return document.createTextNode(value);
}

function certificateSection(der: Uint8Array, n: number): HTMLElement {
  let certificate: Certificate;
  try {
    certificate = parseCertificate(der);
  } catch (err) {
    return h('section', { class: 'card' }, h('h3', {}, `Certificate ${n}`), h('p', { class: 'error' }, `This certificate could not be decoded: ${(err as Error).message}`));
  }
  const sans = h('ul', { class: 'sans' });
  for (const san of certificate.sans) {
    sans.append(h('li', {}, h('span', { class: 'san-type' }, `${san.type}: `), pageLink(searchPath(san.value), san.value, { class: 'san' }), ' ', copyButton(san.value, 'SAN')));
  }
  const extensions = h('table', { class: 'extensions' }, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Extension'), h('th', { scope: 'col' }, 'OID'), h('th', { scope: 'col' }, 'Value'))));
  const tbody = h('tbody');
  for (const f of certificate.fulcio) tbody.append(h('tr', {}, h('td', {}, f.name), h('td', { class: 'mono' }, f.oid), h('td', {}, fulcioValue(certificate, f.name, f.value))));
  extensions.append(tbody);
  return h(
    'section',
    { class: 'card', 'aria-labelledby': `cert-${n}` },
    h('h3', { id: `cert-${n}` }, `Certificate${n > 1 ? ` ${n}` : ''}`),
    h(
      'dl',
      {},
      row('Subject', certificate.subject || '(empty)'),
      row('SANs', certificate.sans.length ? sans : '(none)'),
      row('Issuer', certificate.issuer),
      row('Valid', `${certificate.notBefore.toISOString()} to ${certificate.notAfter.toISOString()}`),
    ),
    certificate.fulcio.length ? extensions : h('p', {}, 'No Fulcio extensions.'),
    certificate.otherExtensions.length ? h('p', { class: 'help' }, `Other extensions: ${certificate.otherExtensions.join(', ')}`) : null,
  );
}

function rawSection(body: Uint8Array): HTMLElement {
  let text = fromUtf8(body);
  try {
    text = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // not JSON: shown as it is
  }
  const pre = h('pre', { class: 'raw', tabindex: 0 }, text.length > RAW_LIMIT ? `${text.slice(0, RAW_LIMIT)}\n…` : text);
  const actions = h('div', { class: 'row' });
  if (text.length > RAW_LIMIT) {
    const all = h('button', { type: 'button' }, `Show all (${body.length.toLocaleString('en')} bytes)`);
    all.addEventListener('click', () => {
      pre.textContent = text;
      all.remove();
    });
    actions.append(all);
  }
  const download = h('a', { href: URL.createObjectURL(new Blob([body as BlobPart], { type: 'application/json' })), download: 'entry-body.json' }, 'Download');
  actions.append(download);
  return h('section', { class: 'card', 'aria-labelledby': 'raw-title' }, h('h3', { id: 'raw-title' }, 'Canonical body'), actions, pre);
}

function detailsSections(decoded: DecodedBody, entry: SearchEntry): HTMLElement[] {
  const out: HTMLElement[] = [];
  decoded.certificates.forEach((der, i) => out.push(certificateSection(der, i + 1)));
  if (decoded.keys.length) out.push(h('section', { class: 'card' }, h('h3', {}, 'Public key'), ...decoded.keys.map((k) => h('pre', { class: 'key' }, k))));
  const signed = h('dl');
  if (decoded.artifact) {
    const q = `${decoded.artifact.algorithm}:${decoded.artifact.hex}`;
    signed.append(row(decoded.dsse ? 'Envelope digest' : 'Artifact digest', pageLink(searchPath(q), q, { class: 'mono digest-link' }), ' ', copyButton(q, 'digest')));
  }
  if (decoded.dsse) {
    if (decoded.dsse.payloadType) signed.append(row('Payload type', decoded.dsse.payloadType));
    if (decoded.dsse.payloadHash) {
      const q = `${decoded.dsse.payloadHash.algorithm}:${decoded.dsse.payloadHash.hex}`;
      signed.append(row('Payload digest', pageLink(searchPath(q), q, { class: 'mono' })));
    }
    signed.append(row('Signatures', String(decoded.dsse.signatures)));
    // The log indexes the in-toto statement's subjects (the body keeps only the payload's hash).
    const subjects = entry.digests.filter((d) => d !== `${decoded.dsse?.payloadHash?.algorithm}:${decoded.dsse?.payloadHash?.hex}` && d !== `${decoded.artifact?.algorithm}:${decoded.artifact?.hex}`);
    if (subjects.length) signed.append(row('In-toto subjects (indexed)', h('ul', {}, ...subjects.map((d) => h('li', {}, pageLink(searchPath(d), d, { class: 'mono' }))))));
  }
  if (signed.childElementCount) out.push(h('section', { class: 'card' }, h('h3', {}, decoded.dsse ? 'DSSE envelope' : 'Signed artifact'), signed));
  if (!decoded.known) out.push(h('p', { class: 'help' }, 'This kind of entry is shown as its raw body only.'));
  return out;
}

export async function renderEntry(main: HTMLElement, lookup: string, key: LogKey): Promise<void> {
  const status = h('p', { role: 'status' }, 'Looking up the entry…');
  replace(main, status);
  let entry: SearchEntry | undefined;
  try {
    entry = (await search(lookup, 1)).entries[0];
  } catch (err) {
    replace(main, h('p', { role: 'alert', class: 'error' }, `The lookup failed: ${(err as Error).message}`));
    return;
  }
  if (!entry) {
    replace(main, h('p', { role: 'alert', class: 'error' }, `No entry ${lookup} in this log.`));
    return;
  }
  document.title = `Entry ${entry.index} · sigstack log explorer`;
  const verification = h('section', { class: 'card verification', 'aria-labelledby': 'verify-title' }, h('h3', { id: 'verify-title' }, 'Checked in your browser'), h('p', { role: 'status' }, 'Checking the inclusion proof and checkpoint…'));
  const details = h('div', { class: 'details' });
  replace(
    main,
    h('h2', {}, `Entry ${entry.index}`),
    h(
      'dl',
      { class: 'summary' },
      row('Kind', `${entry.kind} ${entry.apiVersion}${isTileEntry(entry.kind, entry.apiVersion) ? ' (Rekor v2, read from tiles)' : ' (Rekor v1)'}`),
      row('Log index', pageLink(`/explorer/index/${entry.index}`, String(entry.index))),
      row('UUID', h('span', { class: 'mono uuid' }, entry.uuid), ' ', copyButton(entry.uuid, 'UUID')),
      row('Integrated', timeElement(entry.integratedTime)),
    ),
    verification,
    details,
  );
  try {
    const verified = await verifyEntry(key, entry);
    const cp = verified.checkpoint;
    replace(
      verification,
      h('h3', { id: 'verify-title' }, 'Checked in your browser'),
      h(
        'p',
        { role: 'status', class: 'ok' },
        `Inclusion verified: tree size ${cp.size}, root hash ${hex(cp.rootHash)}, checkpoint signed by key ID ${hex(key.keyId.slice(0, 4))} (${key.keyType})${verified.signedTime !== undefined ? '; signed entry timestamp verified' : ''}; ${verified.consistency}.`,
      ),
    );
    append(details, ...detailsSections(decodeBody(verified.body), entry), rawSection(verified.body));
  } catch (err) {
    const message = err instanceof VerificationError ? err.message : `could not check the entry: ${(err as Error).message}`;
    replace(verification, h('h3', { id: 'verify-title' }, 'Checked in your browser'), h('p', { role: 'alert', class: 'error' }, `Verification failed: ${message}.`));
  }
}
