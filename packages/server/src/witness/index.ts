// The tlog-witness service (C2SP tlog-witness + tlog-cosignature).
export { startWitnessService, parseWitnessLogs, loadOrCreateMldsaKeys, type WitnessService, type WitnessServiceOptions } from './service.js';
export { Witness, type WitnessAnswer } from './witness.js';
export { WitnessState } from './state.js';
export { buildWitnessApp } from './http.js';
