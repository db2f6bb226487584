// The verifier's witness policy: the checkpoint each log entry's inclusion proof leads to must
// carry enough valid witness cosignatures (C2SP tlog-cosignature) for the policy's quorum —
// `--witness VKEY ... --witness-threshold N` or a tlog-policy file. Unknown signature lines are
// ignored; a known witness whose cosignature fails (e.g. a line copied from a checkpoint with
// another root) rejects the bundle. Run after the verifier has checked the checkpoint's log
// signature and the inclusion proof.

import { CoreError, checkWitnessPolicy, parseTlogPolicy, thresholdPolicy, type Bundle, type TlogPolicy } from '@sigstack/core';
import { VerificationError, fail } from './errors.js';

/** A policy from witness vkeys and a threshold (default: all of them). */
export function witnessPolicyFromKeys(vkeys: readonly string[], threshold = vkeys.length): TlogPolicy {
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > vkeys.length) {
    fail('WITNESS_POLICY_INVALID', `--witness-threshold must be 1..${vkeys.length} (the number of --witness keys)`);
  }
  try {
    return thresholdPolicy(vkeys, threshold);
  } catch (err) {
    if (err instanceof CoreError) fail('WITNESS_POLICY_INVALID', err.message);
    throw err;
  }
}

export function witnessPolicyFromText(text: string, where: string): TlogPolicy {
  try {
    return parseTlogPolicy(text);
  } catch (err) {
    if (err instanceof CoreError) fail('WITNESS_POLICY_INVALID', `${where}: ${err.message}`);
    throw err;
  }
}

/** Throws TLOG_WITNESS_QUORUM_NOT_MET or TLOG_COSIGNATURE_INVALID unless every entry's checkpoint satisfies `policy`. */
export function checkBundleWitnesses(bundle: Bundle, policy: TlogPolicy): { logIndex: number; cosigned: string[] }[] {
  if (bundle.tlogEntries.length === 0) fail('TLOG_WITNESS_QUORUM_NOT_MET', 'the bundle has no transparency log entry whose checkpoint witnesses could cosign');
  return bundle.tlogEntries.map((entry) => {
    const note = entry.inclusionProof?.checkpoint;
    if (!note) fail('TLOG_WITNESS_QUORUM_NOT_MET', `log entry ${entry.logIndex} has no checkpoint, so no witness cosignatures (a v0.1 bundle with only a signed entry timestamp)`);
    let result;
    try {
      result = checkWitnessPolicy(note, policy);
    } catch (err) {
      if (err instanceof CoreError) throw new VerificationError(err.code === 'COSIGNATURE_INVALID' ? 'TLOG_COSIGNATURE_INVALID' : err.code, `log entry ${entry.logIndex}: ${err.message}`);
      throw err;
    }
    if (!result.quorum) {
      fail('TLOG_WITNESS_QUORUM_NOT_MET', `the checkpoint of log entry ${entry.logIndex} is cosigned by ${result.cosigned.length === 0 ? 'no trusted witness' : result.cosigned.join(', ')}, short of the witness quorum`);
    }
    return { logIndex: entry.logIndex, cosigned: result.cosigned };
  });
}
