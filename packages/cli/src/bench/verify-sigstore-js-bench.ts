// The baseline of bench:verify: sigstore-js (@sigstore/verify, a devDependency, loaded at run
// time) verifying the same bundle the same way, on the main thread: trust material made once,
// the bundle parsed afresh for each verification. Takes the arguments of `sigstack verify` and
// prints `sigstore-js verify: <N> bundles/s` as its last line.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describeError } from '../errors.js';
import { parseVerifyArgs } from '../commands/verify.js';
import { measureRate } from './warm-up.js';

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
if (args[0] === 'verify-bundle') args.shift();
const seconds = Number(process.env.BENCH_SECONDS ?? 3);

function loadSigstoreJs() {
  try {
    return {
      verify: require('@sigstore/verify'),
      bundle: require('@sigstore/bundle'),
      specs: require(require.resolve('@sigstore/protobuf-specs', { paths: [require.resolve('@sigstore/verify')] })),
    };
  } catch (err) {
    throw new Error(`sigstore-js is not installed (npm ci installs it as a devDependency): ${(err as Error).message}`);
  }
}

async function main(): Promise<void> {
  const request = parseVerifyArgs(args);
  const js = loadSigstoreJs();
  const rootPath = request.trustedRoot ?? require.resolve('@sigstack/verify/trust/public-good-trusted-root.json');
  const root = js.specs.TrustedRoot.fromJSON(JSON.parse(readFileSync(rootPath, 'utf8')));
  const bundleText = readFileSync(request.bundle, 'utf8');
  const bundleJson = JSON.parse(bundleText);
  let keys: Record<string, { rawBytes: Buffer; keyDetails: string }> | undefined;
  if (typeof request.policy.key === 'string') {
    const { createPublicKey } = await import('node:crypto');
    const key = createPublicKey(request.policy.key);
    const hint: string = bundleJson.verificationMaterial?.publicKey?.hint ?? '';
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const keyDetails = key.asymmetricKeyType === 'ed25519' ? 'PKIX_ED25519' : curve === 'secp384r1' ? 'PKIX_ECDSA_P384_SHA_384' : curve === 'secp521r1' ? 'PKIX_ECDSA_P521_SHA_512' : 'PKIX_ECDSA_P256_SHA_256';
    keys = { [hint]: { rawBytes: key.export({ type: 'spki', format: 'der' }), keyDetails } };
  }
  const trust = js.verify.toTrustMaterial(root, keys);
  const verifier = new js.verify.Verifier(trust);
  const artifactArg = request.artifact;
  const artifact = artifactArg.startsWith('sha256:') ? undefined : readFileSync(artifactArg);
  const policy = request.policy.key !== undefined ? undefined : { subjectAlternativeName: request.policy.identity, extensions: { issuer: request.policy.issuer } };
  const isDsse = Boolean(bundleJson.dsseEnvelope);
  const once = () => {
    const entity = js.verify.toSignedEntity(js.bundle.bundleFromJSON(JSON.parse(bundleText)), isDsse ? undefined : artifact);
    verifier.verify(entity, policy);
  };
  once(); // fails loudly if sigstore-js refuses the bundle

  const runFor = async (ms: number): Promise<number> => {
    const end = performance.now() + ms;
    let count = 0;
    while (performance.now() < end) {
      once();
      count++;
    }
    await new Promise((resolve) => setImmediate(resolve));
    return count;
  };
  // CPU time counts every thread of this process (the pool's workers too).
  const rate = await measureRate(runFor, seconds);
  process.stdout.write(`cpu: ${rate.perCpuSecond} bundles per CPU-second\n`);
  process.stdout.write(`sigstore-js verify: ${rate.perSecond} bundles/s\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:verify (sigstore-js): ${describeError(err)}\n`);
  process.exitCode = 1;
});
