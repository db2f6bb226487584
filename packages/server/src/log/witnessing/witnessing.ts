// The log asking witnesses (a tlog-policy file: witnesses with URLs and the quorum): after each
// batch commits, the newest checkpoint goes to every witness at once (about a second each, as
// Tessera allows); the cosignatures that come back are added to the note the log serves at
// /checkpoint and in its answers. Rounds run one at a time and always take the newest
// checkpoint. Fail-open (the default, as rekor-tiles runs): a witness that is down or refuses
// never holds anything up, the log serves what it has and reports who is behind. Fail-closed:
// a checkpoint (and the answers waiting on it) is only published once the quorum cosigned it.

import { quorumMet, type TlogPolicy } from '@sigstack/core';
import type { CurrentCheckpoint } from '../engine/log.js';
import { WitnessClient, type ProofSource, type WitnessStatus } from './client.js';

export interface WitnessingOptions {
  policy: TlogPolicy;
  proof: ProofSource;
  failClosed?: boolean;
  /** Per witness, per round (default 1000 ms). */
  timeoutMs?: number;
  onWarning?: (message: string) => void;
  /** Sizes each witness (by policy name) is known to have cosigned: its first request starts there. */
  cosignedSizes?: Map<string, number>;
  /** Called with each round's outcome before its waiters go (a cluster log stores it for every front end). */
  onRound?: (round: WitnessRound) => Promise<void> | void;
}

export interface WitnessRound {
  checkpoint: CurrentCheckpoint;
  /** The cosignature line(s) each witness that cosigned gave, by policy name. */
  cosignatures: Map<string, string>;
  quorum: boolean;
  witnesses: WitnessStatus[];
}

export interface WitnessingStatus {
  failClosed: boolean;
  /** Size of the newest checkpoint with cosignatures. */
  cosignedSize: number;
  quorum: boolean;
  witnesses: (WitnessStatus & { behind: boolean })[];
}

export class Witnessing {
  private readonly clients: WitnessClient[];
  private readonly policy: TlogPolicy;
  private readonly failClosed: boolean;
  /** The newest checkpoint a round finished for, with the cosignatures it got. */
  private cosigned: (CurrentCheckpoint & { quorum: boolean }) | undefined;
  /** The newest checkpoint that met the quorum (what fail-closed publishes). */
  private withQuorum: CurrentCheckpoint | undefined;
  private latest: CurrentCheckpoint | undefined;
  private round: Promise<void> | undefined;
  private waiters: { size: number; resolve: () => void }[] = [];
  private readonly onWarning: (message: string) => void;
  private closed = false;
  private readonly onRound: WitnessingOptions['onRound'];

  constructor(options: WitnessingOptions) {
    this.policy = options.policy;
    this.failClosed = options.failClosed ?? false;
    this.onWarning = options.onWarning ?? (() => {});
    const timeout = options.timeoutMs ?? 1000;
    this.clients = [...options.policy.witnesses.values()]
      .filter((w): w is typeof w & { url: string } => {
        if (!w.url) this.onWarning(`witness ${w.name} has no URL in the policy; it cannot be asked`);
        return Boolean(w.url);
      })
      .map((w) => new WitnessClient(w, options.proof, timeout, options.cosignedSizes?.get(w.name) ?? 0));
    this.onRound = options.onRound;
  }

  /** The checkpoint to serve instead of the bare `current` one. */
  view(current: CurrentCheckpoint, startup: CurrentCheckpoint): CurrentCheckpoint {
    if (this.failClosed) return this.withQuorum ?? startup;
    return this.cosigned && this.cosigned.size === current.size ? this.cosigned : current;
  }

  /** Starts witnessing `checkpoint`; resolves when a round covering it ended (fail-closed: when the quorum cosigned it). */
  submit(checkpoint: CurrentCheckpoint): Promise<void> {
    if (!this.latest || checkpoint.size > this.latest.size) this.latest = checkpoint;
    const done = new Promise<void>((resolve) => this.waiters.push({ size: checkpoint.size, resolve }));
    this.kick();
    return done;
  }

  /** Starts witnessing `checkpoint` without waiting for it (a cluster log's sequencer: front ends wait on the database). */
  offer(checkpoint: CurrentCheckpoint): void {
    if (!this.latest || checkpoint.size > this.latest.size) this.latest = checkpoint;
    this.kick();
  }

  private kick(): void {
    if (this.round || this.closed) return;
    this.round = this.runRound().finally(() => {
      this.round = undefined;
      if (this.latest && (!this.cosigned || this.latest.size > this.cosigned.size || (this.failClosed && (this.withQuorum?.size ?? -1) < this.latest.size))) {
        // Newer checkpoints arrived, or fail-closed still lacks the quorum: go again (after a pause when nothing changed).
        const again = this.cosigned && this.latest.size === this.cosigned.size;
        if (again) setTimeout(() => this.kick(), 500).unref();
        else this.kick();
      }
    });
  }

  private async runRound(): Promise<void> {
    const checkpoint = this.latest as CurrentCheckpoint;
    const lines = await Promise.all(this.clients.map((c) => c.cosign(checkpoint.note, checkpoint.size)));
    const names = new Set<string>();
    const cosignatures = new Map<string, string>();
    lines.forEach((line, i) => {
      if (!line) return;
      names.add((this.clients[i] as WitnessClient).witness.name);
      cosignatures.set((this.clients[i] as WitnessClient).witness.name, line);
    });
    for (const c of this.clients) if (c.status.alert) this.onWarning(`ALERT witness ${c.witness.name}: ${c.status.alert}`);
    const quorum = quorumMet(this.policy, names);
    const note = checkpoint.note + lines.filter((l): l is string => Boolean(l)).join('');
    this.cosigned = { ...checkpoint, note, quorum };
    if (quorum) this.withQuorum = { ...checkpoint, note };
    else this.onWarning(`checkpoint ${checkpoint.size}: witness quorum not met (${names.size} of ${this.clients.length} cosigned)`);
    if (this.onRound) {
      try {
        await this.onRound({ checkpoint, cosignatures, quorum, witnesses: this.clients.map((c) => c.status) });
      } catch (err) {
        this.onWarning(`checkpoint ${checkpoint.size}: the witnesses' answers could not be recorded: ${(err as Error).message}`);
      }
    }
    const published = this.failClosed ? (this.withQuorum?.size ?? -1) : checkpoint.size;
    this.waiters = this.waiters.filter((w) => {
      if (w.size <= published) w.resolve();
      return w.size > published;
    });
  }

  status(): WitnessingStatus {
    const size = this.cosigned?.size ?? 0;
    return {
      failClosed: this.failClosed,
      cosignedSize: size,
      quorum: this.cosigned?.quorum ?? false,
      witnesses: this.clients.map((c) => ({ ...c.status, behind: c.status.cosignedSize < (this.latest?.size ?? 0) })),
    };
  }

  /** Stops new rounds and lets waiting answers go. */
  close(): void {
    this.closed = true;
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }
}
