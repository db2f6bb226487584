// What a front end of a cluster log serves when the log is witnessed: the checkpoint with the
// witnesses' cosignatures as the database records them (so every front end serves the same
// cosigned checkpoint at /checkpoint and in its answers, whichever process asked), and the
// witnesses' state at /api/v1/log/witnesses read from the database (the same from any front end).
//
// Fail-open: the checkpoint of the newest recorded round, so answers wait for that round as they
// do on SQLite; when no round covers the newest checkpoint for a while (witnessing stalled), the
// bare newest checkpoint is served instead. Fail-closed: only the newest checkpoint whose
// recorded cosignatures verify and meet the policy's quorum; an append is answered once such a
// checkpoint covers it. Never a smaller tree than one served before.

import { checkWitnessPolicy, type TlogPolicy } from '@sigstack/core';
import type { PostgresLogStorage } from '../../storage/postgres/postgres.js';
import type { CheckpointWitnessing, CurrentCheckpoint, TransparencyLog } from '../engine/log.js';
import type { WitnessStatus } from './client.js';
import { readCheckpointNote, readCosignatures, readRound, readWitnessStates } from './cluster-records.js';
import type { WitnessingStatus } from './witnessing.js';

export interface ClusterWitnessViewOptions {
  policy: TlogPolicy;
  failClosed: boolean;
  /** Fail-open: how long the newest checkpoint may go without a round before it is served bare (default 3 s). */
  staleMs?: number;
  onWarning: (message: string) => void;
}

export class ClusterWitnessView implements CheckpointWitnessing {
  private served: CurrentCheckpoint | undefined;
  private servedSize = -1;
  private servedKey = '';
  private roundSize = -1;
  private roundMovedAt = Date.now();
  private readonly names: string[];

  constructor(
    private readonly store: PostgresLogStorage,
    private readonly log: TransparencyLog,
    private readonly options: ClusterWitnessViewOptions,
  ) {
    this.names = [...options.policy.witnesses.keys()];
  }

  view(current: CurrentCheckpoint, startup: CurrentCheckpoint): CurrentCheckpoint {
    const shown = this.served ?? (this.options.failClosed ? startup : current);
    if (shown.size > this.servedSize) this.servedSize = shown.size;
    return shown;
  }

  async submit(): Promise<void> {
    // The sequencer's process asks the witnesses (cluster-rounds.ts); front ends only follow.
  }

  /** Reads the newest recorded round and chooses what to serve (the front end calls it after each advance). */
  async refresh(): Promise<void> {
    const current = this.log.published;
    const round = await readRound(this.store.pool);
    if (round.size !== this.roundSize) {
      this.roundSize = round.size;
      this.roundMovedAt = Date.now();
    }
    let size: number | undefined;
    if (this.options.failClosed) {
      if (round.quorumSize >= 0 && round.quorumSize <= current.size) size = round.quorumSize;
    } else if (round.size === current.size) {
      size = current.size;
    } else if (round.size < current.size) {
      const stale = Date.now() - this.roundMovedAt > (this.options.staleMs ?? 3000);
      size = stale ? current.size : round.size;
    }
    if (size === undefined || size < 0 || size < this.servedSize) return;
    const key = `${size}:${round.size}:${round.quorumSize}`;
    if (key === this.servedKey && this.served) return;
    const next = await this.cosigned(current, size);
    if (!next) return;
    if (this.options.failClosed) {
      let quorum = false;
      try {
        quorum = checkWitnessPolicy(next.note, this.options.policy).quorum;
      } catch (err) {
        this.options.onWarning(`checkpoint ${size}: a recorded cosignature does not verify (${(err as Error).message}); not served`);
      }
      if (!quorum) return;
    }
    if (next.size < this.servedSize) return;
    this.served = next;
    this.servedSize = next.size;
    this.servedKey = key;
  }

  /** The checkpoint of `size` with the cosignature lines recorded for it, in policy order. */
  private async cosigned(current: CurrentCheckpoint, size: number): Promise<CurrentCheckpoint | undefined> {
    const note = size === current.size ? current.note : await readCheckpointNote(this.store.pool, size);
    if (!note) return undefined;
    const lines = await readCosignatures(this.store.pool, size);
    const rootHash = size === current.size ? current.rootHash : await this.log.rootAt(size);
    const ordered = this.names.map((n) => lines.get(n)).filter((l): l is string => Boolean(l));
    return { size, note: note + ordered.join(''), rootHash };
  }

  /** The witnesses' state as the database records it: the same answer from every front end. */
  async status(): Promise<WitnessingStatus & { treeSize: number; sequencerEpoch: number }> {
    const [round, states, latest] = await Promise.all([readRound(this.store.pool), readWitnessStates(this.store.pool), this.store.latestCheckpoint()]);
    const treeSize = latest?.size ?? 0;
    const witnesses = [...this.options.policy.witnesses.values()]
      .filter((w) => Boolean(w.url))
      .map((w) => {
        const state: WitnessStatus = states.get(w.name) ?? { name: w.name, url: w.url as string, cosignedSize: 0 };
        return { ...state, behind: state.cosignedSize < treeSize };
      });
    return { failClosed: this.options.failClosed, cosignedSize: Math.max(0, round.size), quorum: round.quorum, witnesses, treeSize, sequencerEpoch: round.epoch };
  }
}
