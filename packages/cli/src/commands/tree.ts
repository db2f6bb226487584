// `sigstack tree IMAGE`: what is attached to an image, in which layout (bundle-layout referrers,
// found through the referrers API or the fallback tag; legacy .sig / .att layers), without
// verifying anything (as cosign tree).

import { parseArgs } from 'node:util';
import { ANNOTATION, fallbackTag, formatImageReference, legacyTag, readAttachments, resolveImage, type Attachment } from '@sigstack/oci';
import { CliError } from '../errors.js';
import { imageReference, registryClient, takeRegistryFlags, REGISTRY_FLAGS_USAGE } from './image-options.js';

export const TREE_USAGE = `usage: sigstack tree IMAGE [registry flags]

Lists the signatures, attestations and sigstore bundles attached to IMAGE's digest, in both of
cosign's layouts. Nothing is verified: use sigstack verify / verify-attestation for that.
${REGISTRY_FLAGS_USAGE}`;

function bundleLine(a: Extract<Attachment, { layout: 'bundle' }>): string {
  const type = a.annotations[ANNOTATION.bundlePredicateType];
  const content = a.annotations[ANNOTATION.bundleContent];
  const created = a.annotations[ANNOTATION.created];
  return `${a.manifestDigest}${type ? ` ${type}` : ''}${content ? ` (${content}${created ? `, ${created}` : ''})` : ''}`;
}

/** The tree as text lines. */
export function describeTree(reference: string, digest: string, attachments: Attachment[]): string[] {
  const lines = [`Supply chain artifacts for ${reference}`];
  const bundles = attachments.filter((a): a is Extract<Attachment, { layout: 'bundle' }> => a.layout === 'bundle');
  const sigs = attachments.filter((a): a is Extract<Attachment, { layout: 'legacy' }> => a.layout === 'legacy' && a.kind === 'sig');
  const atts = attachments.filter((a): a is Extract<Attachment, { layout: 'legacy' }> => a.layout === 'legacy' && a.kind === 'att');
  if (attachments.length === 0) {
    lines.push('└── nothing attached (no referrers, no fallback tag, no .sig or .att tag)');
    return lines;
  }
  const groups: [string, string[]][] = [];
  if (bundles.length) {
    const via = [...new Set(bundles.map((b) => (b.foundVia === 'fallback tag' ? `fallback tag ${fallbackTag(digest)}` : 'referrers API')))].join(' and ');
    groups.push([`Sigstore bundles (bundle layout, via ${via}): ${bundles.length}`, bundles.map(bundleLine)]);
  }
  if (sigs.length) groups.push([`Signatures (legacy layout, tag ${legacyTag(digest, 'sig')}): ${sigs.length}`, sigs.map((s) => s.layer.digest)]);
  if (atts.length) {
    groups.push([`Attestations (legacy layout, tag ${legacyTag(digest, 'att')}): ${atts.length}`, atts.map((a) => `${a.layer.digest}${a.layer.annotations?.[ANNOTATION.predicateType] ? ` ${a.layer.annotations[ANNOTATION.predicateType]}` : ''}`)]);
  }
  groups.forEach(([title, items], g) => {
    const last = g === groups.length - 1;
    lines.push(`${last ? '└──' : '├──'} ${title}`);
    items.forEach((item, i) => lines.push(`${last ? '    ' : '│   '}${i === items.length - 1 ? '└──' : '├──'} ${item}`));
  });
  return lines;
}

export async function treeCommand(args: string[]): Promise<number> {
  const { flags, rest } = takeRegistryFlags(args);
  let parsed;
  try {
    parsed = parseArgs({ args: rest, allowPositionals: true, options: {} });
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message}\n${TREE_USAGE}`);
  }
  if (parsed.positionals.length !== 1) throw new CliError('USAGE', `expected one IMAGE\n${TREE_USAGE}`);
  const ref = imageReference(parsed.positionals[0] as string);
  const client = registryClient(ref, flags);
  const image = await resolveImage(client, ref);
  const attachments = await readAttachments(client, ref.repository, image.digest);
  process.stdout.write(`${describeTree(formatImageReference({ ...ref, digest: image.digest }), image.digest, attachments).join('\n')}\n`);
  return 0;
}
