// Witnessing of a cluster log as one process takes part in it: every front end follows the
// cosignatures the database records (cluster-view.ts), and the process holding the sequencer
// lease asks the witnesses (cluster-rounds.ts), starting on each takeover and stopping when the
// lease is lost. Used by `log serve --postgres` and by the stack's logs on PostgreSQL.

import type { PostgresLogStorage } from '../../storage/postgres/postgres.js';
import type { TransparencyLog } from '../engine/log.js';
import type { ClusterFrontEnd } from '../cluster/front-end.js';
import { checkPolicyNamesLog, readWitnessPolicy } from './load.js';
import { ClusterWitnessRounds } from './cluster-rounds.js';
import { ClusterWitnessView } from './cluster-view.js';

export interface ClusterWitnessingOptions {
  /** The C2SP tlog-policy file (the same for every process of the log). */
  policyPath: string;
  /** Answer appends only once the covering checkpoint has the quorum's cosignatures (default: fail-open). */
  failClosed?: boolean;
  /** Time each witness gets per checkpoint (default 1000 ms). */
  timeoutMs?: number;
  warn: (message: string) => void;
}

export interface ClusterWitnessing {
  view: ClusterWitnessView;
  rounds: ClusterWitnessRounds;
}

/** Attaches witnessing to a front end before it starts following. */
export async function attachClusterWitnessing(store: PostgresLogStorage, log: TransparencyLog, frontEnd: ClusterFrontEnd, options: ClusterWitnessingOptions): Promise<ClusterWitnessing> {
  const policy = readWitnessPolicy(options.policyPath);
  const failClosed = options.failClosed === true;
  checkPolicyNamesLog(options.policyPath, policy, log, options.warn);
  const view = new ClusterWitnessView(store, log, { policy, failClosed, ...(options.timeoutMs ? { staleMs: Math.max(3000, 2 * options.timeoutMs + 1000) } : {}), onWarning: options.warn });
  await view.refresh();
  log.witnessWith(view);
  frontEnd.onAdvance = () => view.refresh();
  const rounds = new ClusterWitnessRounds(store, log, { policy, failClosed, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}), onWarning: options.warn });
  return { view, rounds };
}
