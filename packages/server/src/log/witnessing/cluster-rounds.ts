// Who asks the witnesses of a cluster log: the process holding the sequencer lease, and only it,
// so the witnesses see one caller whose checkpoints only grow. On taking the lease it starts
// from what the database records each witness has cosigned (a witness ahead of that, because
// the old sequencer died before recording, answers 409 with its size and is caught up from
// there: never above the database's tree, so never a rollback); it then sends each new
// checkpoint (newest first, one round at a time) and records every round for the front ends.
// Losing the lease stops it.

import type { TlogPolicy } from '@sigstack/core';
import type { PostgresLogStorage } from '../../storage/postgres/postgres.js';
import type { TransparencyLog } from '../engine/log.js';
import { readWitnessStates, recordRound } from './cluster-records.js';
import { Witnessing, type WitnessRound } from './witnessing.js';

export interface ClusterWitnessRoundsOptions {
  policy: TlogPolicy;
  failClosed: boolean;
  timeoutMs?: number;
  onWarning: (message: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ClusterWitnessRounds {
  private witnessing: Witnessing | undefined;
  private epoch: number | undefined;
  private submitted = -1;
  private reading: Promise<void> | undefined;
  private again = false;

  /** `log` is this process's front-end log: it follows the database and answers consistency proofs. */
  constructor(
    private readonly store: PostgresLogStorage,
    private readonly log: TransparencyLog,
    private readonly options: ClusterWitnessRoundsOptions,
  ) {}

  /** This process took the lease under `epoch`: witnessing continues from the database's records. */
  async start(epoch: number): Promise<void> {
    this.stop();
    this.epoch = epoch;
    const states = await readWitnessStates(this.store.pool).catch(() => new Map());
    if (this.epoch !== epoch) return;
    this.submitted = -1;
    this.witnessing = new Witnessing({
      policy: this.options.policy,
      proof: (from, to) => this.log.consistencyProof(from, to),
      failClosed: this.options.failClosed,
      ...(this.options.timeoutMs ? { timeoutMs: this.options.timeoutMs } : {}),
      onWarning: this.options.onWarning,
      cosignedSizes: new Map([...states.values()].map((s) => [s.name, s.cosignedSize])),
      onRound: (round) => this.record(round, epoch),
    });
    this.kick();
  }

  /** The lease is gone (lost or released): no more rounds from this process. */
  stop(): void {
    this.epoch = undefined;
    this.witnessing?.close();
    this.witnessing = undefined;
  }

  /** A batch committed: the newest checkpoint goes to the witnesses (one read at a time). */
  kick(): void {
    if (!this.witnessing) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        await this.submitLatest().catch(() => {});
      } while (this.again && this.witnessing);
    })().finally(() => {
      this.reading = undefined;
    });
  }

  private async submitLatest(): Promise<void> {
    const witnessing = this.witnessing;
    const latest = await this.store.latestCheckpoint();
    if (!witnessing || !latest || latest.size <= this.submitted) return;
    // Proofs up to its size come from the front-end log's tree, so it must have loaded it.
    await this.log.advance(latest);
    if (this.log.published.size < latest.size) return;
    this.submitted = latest.size;
    witnessing.offer({ ...latest, rootHash: await this.log.rootAt(latest.size) });
  }

  /** Records a round; retried while the database is briefly unreachable (the witnesses' answers are not lost). */
  private async record(round: WitnessRound, epoch: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await recordRound(this.store, round, epoch);
        return;
      } catch (err) {
        if (attempt >= 20 || this.epoch !== epoch) throw err;
        await sleep(250);
      }
    }
  }
}
