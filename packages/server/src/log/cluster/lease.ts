// The sequencer lease: one row in PostgreSQL, timed by the database's clock (no process trusts
// its own). Taking it over bumps the epoch; renewing keeps it; a holder whose renewal finds
// another epoch has lost it. The lease alone is not the fence: every sequencing transaction
// also checks the epoch under a row lock (fence.ts).

import type pg from 'pg';

export interface LeaseState {
  holder: string;
  epoch: number;
  /** Milliseconds until it expires by the database clock (negative: expired). */
  remainingMs: number;
}

export class SequencerLease {
  constructor(
    private readonly pool: pg.Pool,
    readonly holder: string,
    readonly ttlMs: number,
  ) {}

  /** Takes an expired (or released) lease; the new epoch, or undefined while another holds it. */
  async tryAcquire(): Promise<number | undefined> {
    const result = await this.pool.query({
      name: 'lease-acquire',
      text: `UPDATE sequencer_lease SET holder = $1, epoch = epoch + 1, expires_at = clock_timestamp() + $2 * interval '1 millisecond', acquired_at = clock_timestamp()
             WHERE id = 1 AND expires_at <= clock_timestamp() RETURNING epoch`,
      values: [this.holder, this.ttlMs],
    });
    return result.rows[0]?.epoch as number | undefined;
  }

  /** Extends the lease of `epoch`; false when it was lost (taken over). */
  async renew(epoch: number): Promise<boolean> {
    const result = await this.pool.query({
      name: 'lease-renew',
      text: `UPDATE sequencer_lease SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
             WHERE id = 1 AND holder = $1 AND epoch = $2 AND expires_at > clock_timestamp()`,
      values: [this.holder, epoch, this.ttlMs],
    });
    return result.rowCount === 1;
  }

  /** Gives the lease up at once (clean shutdown), so another takes over without waiting. */
  async release(epoch: number): Promise<void> {
    await this.pool.query({
      name: 'lease-release',
      text: 'UPDATE sequencer_lease SET expires_at = clock_timestamp() WHERE id = 1 AND holder = $1 AND epoch = $2',
      values: [this.holder, epoch],
    });
  }
}

export async function readLease(pool: pg.Pool | pg.ClientBase): Promise<LeaseState> {
  const row = (
    await pool.query(
      "SELECT holder, epoch, (EXTRACT(EPOCH FROM (expires_at - clock_timestamp())) * 1000)::float8 AS remaining FROM sequencer_lease WHERE id = 1",
    )
  ).rows[0];
  return { holder: row.holder, epoch: Number(row.epoch), remainingMs: Number.isFinite(row.remaining) ? row.remaining : -Infinity };
}
