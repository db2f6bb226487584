// The log monitor (what sigstore/rekor-monitor does): consistency, identity watch, witnesses.
export { runMonitor, compareStates, type MonitorOptions, type MonitorWitness, type RunResult } from './monitor.js';
export { TilesReader } from './tiles-reader.js';
export { RekorV1Reader } from './rekor-v1-reader.js';
export { CtReader } from './ct-reader.js';
export { MonitorOutputs, MonitorMetrics, type MonitorEvent } from './outputs.js';
export { readMonitorState, writeMonitorState, type MonitorState } from './state.js';
export { EntryDecoder } from './decode.js';
export type { LogReader } from './reader.js';
