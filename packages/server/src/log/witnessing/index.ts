// The log's side of witnessing: asking the witnesses of a tlog-policy for cosignatures.
export { Witnessing, type WitnessingOptions, type WitnessingStatus } from './witnessing.js';
export { WitnessClient, type WitnessStatus } from './client.js';
