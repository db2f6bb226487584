// C2SP tlog-policy (c2sp.org/tlog-policy): the policy file naming logs, witnesses, witness
// groups and the quorum, and the quorum rule evaluated over the witnesses that cosigned.
//
// Rules from the spec: lines are `log <vkey> [<url>]`, `witness <name> <vkey> [<url>]`,
// `group <name> all|any|<k> <member>...`, `quorum <name>` (exactly one; `none` = no
// cosignatures needed); whitespace is spaces and tabs; blank and `#` lines are ignored; a group
// or quorum may only name witnesses and groups defined on earlier lines; names share one
// namespace, `none` is reserved; each member at most once per group; 1 <= k <= n; no two logs
// or witnesses with the same public key.

import { CoreError } from './errors.js';
import { parseVerifierKey, type VerifierKey } from './note.js';
import { checkCosignatures, parseCosignerVkey, type CosignerKey } from './cosignature.js';

export interface PolicyLog {
  vkey: string;
  key: VerifierKey;
  url?: string;
}

export interface PolicyWitness {
  name: string;
  key: CosignerKey;
  url?: string;
}

export interface PolicyGroup {
  name: string;
  threshold: number;
  members: string[];
}

export interface TlogPolicy {
  logs: PolicyLog[];
  witnesses: Map<string, PolicyWitness>;
  groups: Map<string, PolicyGroup>;
  /** A witness or group name, or 'none'. */
  quorum: string;
}

function bad(line: number, message: string): CoreError {
  return new CoreError('POLICY_INVALID', `policy line ${line}: ${message}`);
}

function rawKey(key: { key: { export(o: { format: 'der'; type: 'spki' }): Buffer } }): string {
  return key.key.export({ format: 'der', type: 'spki' }).toString('hex');
}

export function parseTlogPolicy(text: string): TlogPolicy {
  if (typeof text !== 'string') throw new CoreError('POLICY_INVALID', 'a policy must be text');
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) throw new CoreError('POLICY_INVALID', 'the policy contains a control character other than tab and newline');
  const policy: TlogPolicy = { logs: [], witnesses: new Map(), groups: new Map(), quorum: '' };
  const keys = new Set<string>();
  const defined = (name: string) => policy.witnesses.has(name) || policy.groups.has(name);
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const words = line.split(/[ \t]+/);
    const [keyword, ...args] = words as [string, ...string[]];
    const wrap = <T>(f: () => T): T => {
      try {
        return f();
      } catch (err) {
        if (err instanceof CoreError) throw bad(n, err.message);
        throw err;
      }
    };
    switch (keyword) {
      case 'log': {
        if (args.length < 1 || args.length > 2) throw bad(n, 'expected "log <vkey> [<url>]"');
        const key = wrap(() => parseVerifierKey(args[0] as string));
        const id = rawKey(key);
        if (keys.has(id)) throw bad(n, 'duplicate key');
        keys.add(id);
        policy.logs.push({ vkey: args[0] as string, key, ...(args[1] ? { url: args[1] } : {}) });
        return;
      }
      case 'witness': {
        if (args.length < 2 || args.length > 3) throw bad(n, 'expected "witness <name> <vkey> [<url>]"');
        const name = args[0] as string;
        if (name === 'none') throw bad(n, '"none" is reserved');
        if (defined(name)) throw bad(n, `the name ${name} is already defined`);
        const key = wrap(() => parseCosignerVkey(args[1] as string));
        const id = key.raw.toString('hex');
        if (keys.has(id)) throw bad(n, 'duplicate key');
        keys.add(id);
        policy.witnesses.set(name, { name, key, ...(args[2] ? { url: args[2] } : {}) });
        return;
      }
      case 'group': {
        if (args.length < 3) throw bad(n, 'expected "group <name> all|any|<k> <member>..."');
        const [name, k, ...members] = args as [string, string, ...string[]];
        if (name === 'none') throw bad(n, '"none" is reserved');
        if (defined(name)) throw bad(n, `the name ${name} is already defined`);
        const seen = new Set<string>();
        for (const m of members) {
          if (m === 'none') throw bad(n, '"none" cannot be a group member');
          if (!defined(m)) throw bad(n, `${m} is not defined on an earlier line`);
          if (seen.has(m)) throw bad(n, `${m} is listed twice`);
          seen.add(m);
        }
        let threshold: number;
        if (k === 'all') threshold = members.length;
        else if (k === 'any') threshold = 1;
        else if (/^[1-9][0-9]*$/.test(k) && Number(k) <= members.length) threshold = Number(k);
        else throw bad(n, `threshold ${JSON.stringify(k)} must be all, any or 1..${members.length}`);
        policy.groups.set(name, { name, threshold, members });
        return;
      }
      case 'quorum': {
        if (args.length !== 1) throw bad(n, 'expected "quorum <name>"');
        if (policy.quorum) throw bad(n, 'only one quorum line is allowed');
        const name = args[0] as string;
        if (name !== 'none' && !defined(name)) throw bad(n, `${name} is not defined on an earlier line`);
        policy.quorum = name;
        return;
      }
      default:
        throw bad(n, `unknown keyword ${JSON.stringify(keyword)} (log, witness, group, quorum)`);
    }
  });
  if (!policy.quorum) throw new CoreError('POLICY_INVALID', 'the policy has no quorum line (write "quorum none" to need no cosignatures)');
  return policy;
}

/** True when the witnesses named in `cosigned` satisfy the quorum. */
export function quorumMet(policy: TlogPolicy, cosigned: ReadonlySet<string>): boolean {
  const met = (name: string): boolean => {
    if (name === 'none') return true;
    if (policy.witnesses.has(name)) return cosigned.has(name);
    const group = policy.groups.get(name);
    if (!group) return false;
    return group.members.filter(met).length >= group.threshold;
  };
  return met(policy.quorum);
}

/**
 * A simple policy of N witness keys and a threshold (the verifier's --witness / --witness-threshold).
 */
export function thresholdPolicy(vkeys: readonly string[], threshold: number): TlogPolicy {
  const text = vkeys.map((v, i) => `witness w${i} ${v}`).join('\n');
  const k = Math.max(1, threshold);
  const quorum = vkeys.length === 0 || threshold === 0 ? 'quorum none' : `group q ${k} ${vkeys.map((_, i) => `w${i}`).join(' ')}\nquorum q`;
  return parseTlogPolicy(`${text}\n${quorum}\n`);
}

export interface WitnessedResult {
  /** Policy witness names whose cosignature verified. */
  cosigned: string[];
  quorum: boolean;
}

/**
 * Checks a checkpoint's cosignatures against a policy. Unknown signature lines are ignored; a
 * line naming a policy witness whose signature fails throws COSIGNATURE_INVALID (the note is
 * malformed per signed-note).
 */
export function checkWitnessPolicy(noteText: string, policy: TlogPolicy): WitnessedResult {
  const witnesses = [...policy.witnesses.values()];
  const check = checkCosignatures(noteText, witnesses.map((w) => w.key));
  if (check.failed.length > 0) {
    throw new CoreError('COSIGNATURE_INVALID', `the cosignature of ${check.failed.join(', ')} does not verify over this checkpoint`);
  }
  const cosigned = witnesses.filter((w) => check.valid.has(w.key.vkey)).map((w) => w.name);
  return { cosigned, quorum: quorumMet(policy, new Set(cosigned)) };
}
