// One witness as the log sees it (c2sp.org/tlog-witness, client side): it remembers the size the
// witness last cosigned, sends each new checkpoint with a consistency proof from that size,
// catches up once on a 409 from the size the witness names, and checks the cosignature it gets
// back with the policy's key. A 409 naming a size above the log's own is an alert (the witness
// has seen a larger tree of this origin), never retried.

import { TLOG_SIZE_CONTENT_TYPE, checkCosignatures, formatAddCheckpointRequest, parseTlogSize, type PolicyWitness } from '@sigstack/core';

export interface WitnessStatus {
  name: string;
  url: string;
  /** The size this witness last cosigned for us (0 before any). */
  cosignedSize: number;
  lastError?: string;
  /** True after a 409 naming a size above the log's: a fork or rollback somewhere. */
  alert?: string;
}

export type ProofSource = (fromSize: number, toSize: number) => Promise<Buffer[]>;

export class WitnessClient {
  private cosignedSize = 0;
  private lastError: string | undefined;
  private alert: string | undefined;

  constructor(
    readonly witness: PolicyWitness & { url: string },
    private readonly proof: ProofSource,
    private readonly timeoutMs: number,
    /** The size this witness is known to have cosigned (a cluster log's sequencer reads it from the database). */
    startSize = 0,
  ) {
    this.cosignedSize = startSize;
  }

  get status(): WitnessStatus {
    return { name: this.witness.name, url: this.witness.url, cosignedSize: this.cosignedSize, ...(this.lastError ? { lastError: this.lastError } : {}), ...(this.alert ? { alert: this.alert } : {}) };
  }

  /** The cosignature line(s) for `note` (a checkpoint of `size`), or undefined with lastError set. */
  async cosign(note: string, size: number): Promise<string | undefined> {
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (this.cosignedSize > size) {
        this.lastError = `the witness has cosigned size ${this.cosignedSize}, above this checkpoint (${size})`;
        return undefined;
      }
      const from = this.cosignedSize;
      const body = formatAddCheckpointRequest(from, from === 0 ? [] : await this.proof(from, size), note);
      let response: Response;
      let text: string;
      try {
        response = await fetch(`${this.witness.url.replace(/\/+$/, '')}/add-checkpoint`, { method: 'POST', body, signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) });
        text = await response.text();
      } catch (err) {
        this.lastError = `unreachable: ${String((err as Error).cause ?? (err as Error).message)}`;
        return undefined;
      }
      if (response.status === 200) {
        const check = checkCosignatures(`${note}${text}`, [this.witness.key]);
        if (check.valid.size === 0) {
          this.lastError = 'answered 200 without a valid cosignature by its policy key';
          return undefined;
        }
        this.cosignedSize = size;
        this.lastError = undefined;
        return text.split('\n').filter((l) => l.startsWith(`\u2014 ${this.witness.key.name} `)).map((l) => `${l}\n`).join('');
      }
      if (response.status === 409 && (response.headers.get('content-type') ?? '').startsWith(TLOG_SIZE_CONTENT_TYPE)) {
        let named: number;
        try {
          named = parseTlogSize(text);
        } catch {
          this.lastError = `answered 409 with a malformed size ${JSON.stringify(text.slice(0, 40))}`;
          return undefined;
        }
        if (named > size) {
          this.alert = `the witness has cosigned size ${named} of this log, above the log's own size ${size}: a fork or a rollback`;
          this.lastError = this.alert;
          this.cosignedSize = named;
          return undefined;
        }
        this.cosignedSize = named; // catch up from the size it names
        continue;
      }
      this.lastError = `answered ${response.status}: ${text.trim().slice(0, 200)}`;
      return undefined;
    }
    return undefined;
  }
}
