// The monitor's saved view of a log: the last checkpoint it verified and proved consistent,
// and the compact range of that tree (so the next run proves the new root from the new leaves).
// Written atomically (temporary file, fsync, rename, fsync of the directory): a crash mid-run
// leaves the previous state whole.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { CompactRange } from '@sigstack/core';
import { ServiceError } from '../errors.js';

export interface MonitorState {
  version: 1;
  log: string;
  origin: string;
  size: number;
  /** base64 */
  rootHash: string;
  /** The signed checkpoint (or CT get-sth JSON) this state rests on. */
  signed: string;
  /** The compact range at `size`, when the entries up to it were read. */
  range?: { size: number; hashes: string[] };
  updated: string;
}

export function readMonitorState(path: string): MonitorState | undefined {
  if (!existsSync(path)) return undefined;
  let state: MonitorState;
  try {
    state = JSON.parse(readFileSync(path, 'utf8')) as MonitorState;
  } catch (err) {
    throw new ServiceError(400, 'MONITOR_STATE_INVALID', `the state file ${path} is not JSON (${(err as Error).message}); restore it or remove it to start over`);
  }
  if (state?.version !== 1 || typeof state.origin !== 'string' || !Number.isSafeInteger(state.size) || typeof state.rootHash !== 'string' || Buffer.from(state.rootHash, 'base64').length !== 32) {
    throw new ServiceError(400, 'MONITOR_STATE_INVALID', `the state file ${path} is not a sigstack monitor state`);
  }
  return state;
}

export function rangeOf(state: MonitorState | undefined): CompactRange | undefined {
  if (!state) return CompactRange.empty();
  if (!state.range || state.range.size !== state.size) return undefined;
  return CompactRange.from(state.range.size, state.range.hashes.map((h) => Buffer.from(h, 'base64')));
}

export function writeMonitorState(path: string, state: MonitorState): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(state, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  try {
    const dir = openSync(dirname(path), 'r');
    fsyncSync(dir);
    closeSync(dir);
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  }
}
