// @sigstack/server: the sigstack services.
export { ServiceError } from './errors.js';
export { startLogService, type LogService, type LogServiceOptions } from './log/service.js';
export { TransparencyLog } from './log/engine/log.js';
export * as ctlog from './ctlog/index.js';
export * as tsa from './tsa/index.js';
export * as ca from './ca/index.js';
export * as oidcDev from './oidc-dev/index.js';
export * as stack from './stack.js';
export * as tuf from './tuf/index.js';
export * as witness from './witness/index.js';
export * as keys from './keys.js';
export * as monitor from './monitor/index.js';
export { rotateLogShard, type RotationResult } from './log/shards.js';
export { rotateStackKey, type RetiredRecord, type RotatedComponent } from './production/key-rotation.js';
export * as backup from './backup/index.js';
export { startClusterLogService, type ClusterLogOptions, type ClusterLogService } from './log/cluster/service.js';
export { clusterLogInfo, type ClusterLogInfo } from './log/cluster/info.js';
export { startLocalPostgres, type LocalPostgres } from './storage/postgres/local-server.js';
