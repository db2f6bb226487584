// A TUF repository made with @tufjs/models: root, targets, snapshot and timestamp metadata with
// consistent snapshots (N.root.json, N.targets.json, N.snapshot.json, timestamp.json and
// targets/<sha256>.<name>), re-signed when the targets change or a role nears its expiry.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Key, MetaFile, Metadata, MetadataKind, Root, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models';
import { ServiceError } from '../errors.js';
import { TUF_ROLES, loadOrCreateRoleKey, roleSigner, type TufRole, type TufRoleKey } from './keys.js';

/** One target file: its name in targets metadata and its bytes. */
export interface TufTarget {
  name: string;
  data: Buffer;
}

/** How long each role's metadata is valid once signed. */
export interface TufExpiry {
  rootDays: number;
  targetsDays: number;
  snapshotDays: number;
  timestampHours: number;
}

export const DEFAULT_TUF_EXPIRY: TufExpiry = { rootDays: 365, targetsDays: 180, snapshotDays: 30, timestampHours: 24 };

export interface TufRepositoryOptions {
  /** The TUF directory: keys/ (role keys, 0600), repository/ (what is served), root.json (the client's initial root). */
  dir: string;
  expiry?: Partial<TufExpiry>;
  /** Password of the online role keys (encrypted PKCS#8; new ones are written encrypted). */
  keyPassword?: string;
}

export interface TufVersions {
  root: number;
  targets: number;
  snapshot: number;
  timestamp: number;
}

/** The files under repository/ a client may fetch (the TUF spec's consistent-snapshot layout). */
const SERVED_PATH = /^(?:\d{1,9}\.(?:root|snapshot|targets)\.json|timestamp\.json|root\.json|targets\/[0-9a-f]{64}\.[A-Za-z0-9][A-Za-z0-9._-]{0,200})$/;

const HOUR = 3600_000;
const DAY = 24 * HOUR;

type AnyMetadata = Metadata<Root> | Metadata<Targets> | Metadata<Snapshot> | Metadata<Timestamp>;

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function serialize(metadata: AnyMetadata): Buffer {
  return Buffer.from(`${JSON.stringify(metadata.toJSON(), null, 2)}\n`, 'utf8');
}

/** Writes through a temporary file and a rename, so a reader never sees half a file. */
function writeAtomic(path: string, data: Buffer): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode: 0o644 });
  renameSync(tmp, path);
}

/** Whether less than `fraction` of a role's lifetime is left at `now`. */
function nearExpiry(expires: string, lifetimeMs: number, now: Date, fraction = 0.5): boolean {
  return new Date(expires).getTime() - now.getTime() < lifetimeMs * fraction;
}

export class TufRepository {
  readonly dir: string;
  readonly keyDir: string;
  /** What is served: metadata files and targets/. */
  readonly repositoryDir: string;
  /** The current root, for a client to start from (tuf-js reads it as metadataDir/root.json). */
  readonly rootPath: string;
  readonly expiry: TufExpiry;
  /** Online keys; root and targets are absent once their keys were taken offline (`sigstack tuf init`). */
  private readonly keys: Partial<Record<TufRole, TufRoleKey>>;
  /** What waits for offline signatures, said by publish() (e.g. targets changed, staged for signing). */
  pending: string[] = [];
  private root: Metadata<Root> | undefined;
  private targets: Metadata<Targets> | undefined;
  private snapshot: Metadata<Snapshot> | undefined;
  private timestamp: Metadata<Timestamp> | undefined;

  private constructor(options: TufRepositoryOptions) {
    this.dir = options.dir;
    this.keyDir = join(options.dir, 'keys');
    this.repositoryDir = join(options.dir, 'repository');
    this.rootPath = join(options.dir, 'root.json');
    this.expiry = { ...DEFAULT_TUF_EXPIRY, ...options.expiry };
    mkdirSync(this.keyDir, { recursive: true, mode: 0o700 });
    mkdirSync(join(this.repositoryDir, 'targets'), { recursive: true });
    // Root and targets keys are made only for a new repository; later their absence means offline.
    const fresh = !readdirSync(this.repositoryDir).some((name) => /^\d+\.root\.json$/.test(name));
    this.keys = {};
    for (const role of TUF_ROLES) {
      const online = role === 'snapshot' || role === 'timestamp' || fresh || existsSync(join(this.keyDir, `${role}.pem`));
      if (online) this.keys[role] = loadOrCreateRoleKey(this.keyDir, role, options.keyPassword);
    }
    this.load();
  }

  /** Opens (or starts) the repository in `dir`; nothing is signed until publish(). */
  static open(options: TufRepositoryOptions): TufRepository {
    return new TufRepository(options);
  }

  get versions(): TufVersions {
    return {
      root: this.root?.signed.version ?? 0,
      targets: this.targets?.signed.version ?? 0,
      snapshot: this.snapshot?.signed.version ?? 0,
      timestamp: this.timestamp?.signed.version ?? 0,
    };
  }

  /** When the timestamp metadata expires (undefined before the first publish). */
  get timestampExpires(): Date | undefined {
    return this.timestamp ? new Date(this.timestamp.signed.expires) : undefined;
  }

  /** The names of the current targets. */
  get targetNames(): string[] {
    return Object.keys(this.targets?.signed.targets ?? {});
  }

  private readJson(name: string): Record<string, unknown> | undefined {
    const path = join(this.repositoryDir, name);
    if (!existsSync(path)) return undefined;
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ServiceError(500, 'TUF_METADATA_INVALID', `TUF metadata ${path} is not readable JSON (${(err as Error).message}); remove ${this.dir} to start a new TUF repository`);
    }
  }

  private load(): void {
    const rootVersions = readdirSync(this.repositoryDir)
      .map((name) => /^(\d+)\.root\.json$/.exec(name)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .sort((a, b) => b - a);
    if (rootVersions.length === 0) return;
    try {
      this.root = Metadata.fromJSON(MetadataKind.Root, this.readJson(`${rootVersions[0]}.root.json`) as never);
      const timestamp = this.readJson('timestamp.json');
      if (timestamp) {
        this.timestamp = Metadata.fromJSON(MetadataKind.Timestamp, timestamp as never);
        const snapshot = this.readJson(`${this.timestamp.signed.snapshotMeta.version}.snapshot.json`);
        if (snapshot) {
          this.snapshot = Metadata.fromJSON(MetadataKind.Snapshot, snapshot as never);
          const targetsVersion = this.snapshot.signed.meta['targets.json']?.version;
          const targets = targetsVersion === undefined ? undefined : this.readJson(`${targetsVersion}.targets.json`);
          if (targets) this.targets = Metadata.fromJSON(MetadataKind.Targets, targets as never);
        }
      }
    } catch (err) {
      if (err instanceof ServiceError) throw err;
      throw new ServiceError(500, 'TUF_METADATA_INVALID', `the TUF metadata in ${this.repositoryDir} is not usable (${(err as Error).message}); remove ${this.dir} to start a new TUF repository`);
    }
    // The keys on disk must be the ones the root names, or nothing signed now would verify.
    for (const role of TUF_ROLES) {
      const keyIds = this.root.signed.roles[role]?.keyIDs ?? [];
      const key = this.keys[role];
      if (key && !keyIds.includes(key.keyId)) {
        throw new ServiceError(500, 'TUF_KEY_MISMATCH', `the TUF ${role} key in ${this.keyDir} is not the one ${this.repositoryDir} trusts; restore the original key or remove ${this.dir} to start a new TUF root`);
      }
    }
  }

  private write(name: string, data: Buffer): void {
    writeAtomic(join(this.repositoryDir, name), data);
  }

  private sign<T extends AnyMetadata>(metadata: T, role: TufRole): T {
    const key = this.keys[role];
    if (!key) throw new ServiceError(500, 'TUF_KEY_OFFLINE', `the TUF ${role} key is offline: sign with \`sigstack tuf sign-${role} --key FILE\``);
    metadata.sign(roleSigner(key), false);
    return metadata;
  }

  /** Whether the role's key is on this machine (root and targets can be offline). */
  isOnline(role: TufRole): boolean {
    return this.keys[role] !== undefined;
  }

  private newRoot(version: number, now: Date): Metadata<Root> {
    const root = new Root({ version, specVersion: '1.0.31', expires: isoSeconds(new Date(now.getTime() + this.expiry.rootDays * DAY)), consistentSnapshot: true });
    for (const role of TUF_ROLES) root.addKey(this.keys[role]!.key, role);
    return this.sign(new Metadata(root), 'root');
  }

  private sameTargets(wanted: Record<string, TargetFile>): boolean {
    const current = this.targets?.signed.targets;
    if (!current) return false;
    const names = Object.keys(wanted);
    if (names.length !== Object.keys(current).length) return false;
    return names.every((name) => current[name] !== undefined && current[name].equals(wanted[name] as TargetFile));
  }

  /**
   * Publishes `targets` (the full set; omit to keep the current ones): new targets and snapshot
   * versions when they changed or near expiry, a new root version when it nears expiry, and a
   * fresh timestamp whenever anything changed or `forceTimestamp` (every start) asks.
   * Returns the roles that were signed anew.
   */
  publish(targets?: TufTarget[], options: { now?: Date; forceTimestamp?: boolean } = {}): TufRole[] {
    const now = options.now ?? new Date();
    const signed: TufRole[] = [];
    this.pending = [];

    if (this.root && !this.keys.root) {
      if (nearExpiry(this.root.signed.expires, this.expiry.rootDays * DAY, now, 0.25)) {
        this.pending.push(`TUF root version ${this.root.signed.version} expires at ${this.root.signed.expires} and its keys are offline: stage a renewal (sigstack tuf rotate-root) and sign it (sigstack tuf sign-root --key FILE)`);
      }
      if (!existsSync(this.rootPath)) writeAtomic(this.rootPath, serialize(this.root));
    } else if (!this.root || nearExpiry(this.root.signed.expires, this.expiry.rootDays * DAY, now, 0.25)) {
      const root = this.newRoot((this.root?.signed.version ?? 0) + 1, now);
      const bytes = serialize(root);
      this.write(`${root.signed.version}.root.json`, bytes);
      this.write('root.json', bytes);
      writeAtomic(this.rootPath, bytes);
      this.root = root;
      signed.push('root');
    } else if (!existsSync(this.rootPath)) {
      writeAtomic(this.rootPath, serialize(this.root));
    }

    let wanted: Record<string, TargetFile> | undefined;
    if (targets) {
      wanted = {};
      for (const target of targets) {
        wanted[target.name] = new TargetFile({ path: target.name, length: target.data.length, hashes: { sha256: sha256(target.data) } });
      }
    }
    const targetsChanged = wanted !== undefined && !this.sameTargets(wanted);
    const targetsDue = !this.targets || targetsChanged || nearExpiry(this.targets.signed.expires, this.expiry.targetsDays * DAY, now);
    if (targetsDue && !this.keys.targets) {
      // Offline targets key: write the target files, stage the metadata for `sigstack tuf sign-targets`.
      for (const target of targets ?? []) {
        const name = `targets/${sha256(target.data)}.${target.name}`;
        if (!existsSync(join(this.repositoryDir, name))) this.write(name, target.data);
      }
      const files = wanted ?? this.targets?.signed.targets ?? {};
      const staged = this.stagedTargets();
      const same = staged && Object.keys(files).length === Object.keys(staged.signed.targets).length && Object.entries(files).every(([n, f]) => staged.signed.targets[n]?.equals(f));
      if (!same) this.stageTargets(files, now);
      this.pending.push(`the TUF targets changed or near expiry and the targets key is offline: staged as version ${this.stagedTargets()!.signed.version}; sign it with \`sigstack tuf sign-targets --dir D --key FILE\` (clients keep the current targets until then)`);
    } else if (targetsDue) {
      const files = wanted ?? this.targets?.signed.targets ?? {};
      // Target files first (content-addressed, never overwritten with other bytes), then their metadata.
      for (const target of targets ?? []) {
        const name = `targets/${sha256(target.data)}.${target.name}`;
        if (!existsSync(join(this.repositoryDir, name))) this.write(name, target.data);
      }
      const metadata = this.sign(
        new Metadata(new Targets({ version: (this.targets?.signed.version ?? 0) + 1, specVersion: '1.0.31', expires: isoSeconds(new Date(now.getTime() + this.expiry.targetsDays * DAY)), targets: files })),
        'targets',
      );
      this.write(`${metadata.signed.version}.targets.json`, serialize(metadata));
      this.targets = metadata;
      signed.push('targets');
    }

    if (!this.targets) return signed; // nothing to serve until the staged targets are signed
    this.signSnapshotAndTimestamp(now, signed, options.forceTimestamp === true);
    return signed;
  }

  /** Signs snapshot (when targets were signed or it nears expiry) and timestamp (when anything was), online keys. */
  private signSnapshotAndTimestamp(now: Date, signed: TufRole[], forceTimestamp: boolean): void {
    if (!this.targets) return;
    if (!this.snapshot || signed.includes('targets') || nearExpiry(this.snapshot.signed.expires, this.expiry.snapshotDays * DAY, now)) {
      const metadata = this.sign(
        new Metadata(
          new Snapshot({
            version: (this.snapshot?.signed.version ?? 0) + 1,
            specVersion: '1.0.31',
            expires: isoSeconds(new Date(now.getTime() + this.expiry.snapshotDays * DAY)),
            meta: { 'targets.json': new MetaFile({ version: this.targets.signed.version }) },
          }),
        ),
        'snapshot',
      );
      this.write(`${metadata.signed.version}.snapshot.json`, serialize(metadata));
      this.snapshot = metadata;
      signed.push('snapshot');
    }

    if (!this.timestamp || signed.length > 0 || forceTimestamp || nearExpiry(this.timestamp.signed.expires, this.expiry.timestampHours * HOUR, now)) {
      const snapshotBytes = serialize(this.snapshot);
      const metadata = this.sign(
        new Metadata(
          new Timestamp({
            version: (this.timestamp?.signed.version ?? 0) + 1,
            specVersion: '1.0.31',
            expires: isoSeconds(new Date(now.getTime() + this.expiry.timestampHours * HOUR)),
            snapshotMeta: new MetaFile({ version: this.snapshot.signed.version, length: snapshotBytes.length, hashes: { sha256: sha256(snapshotBytes) } }),
          }),
        ),
        'timestamp',
      );
      // Last: the timestamp is what makes the new snapshot (and targets) visible to clients.
      this.write('timestamp.json', serialize(metadata));
      this.timestamp = metadata;
      signed.push('timestamp');
    }
  }

  /** Re-signs whatever nears its expiry (a running server calls this now and then); rereads the metadata first (offline signatures land on disk). */
  refresh(now = new Date()): TufRole[] {
    this.load();
    return this.publish(undefined, { now });
  }

  // ---- Offline root and targets keys: staged metadata, one signature at a time ---------------

  private get stagedDir(): string {
    return join(this.dir, 'staged');
  }

  private readStaged(name: string): Record<string, unknown> | undefined {
    const path = join(this.stagedDir, name);
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : undefined;
  }

  private writeStaged(name: string, metadata: AnyMetadata): void {
    mkdirSync(this.stagedDir, { recursive: true, mode: 0o700 });
    writeAtomic(join(this.stagedDir, name), serialize(metadata));
  }

  /** The targets metadata waiting for offline signatures, if any. */
  stagedTargets(): Metadata<Targets> | undefined {
    const json = this.readStaged('targets.json');
    return json ? Metadata.fromJSON(MetadataKind.Targets, json as never) : undefined;
  }

  /** The root metadata waiting for signatures, if any. */
  stagedRoot(): Metadata<Root> | undefined {
    const json = this.readStaged('root.json');
    return json ? Metadata.fromJSON(MetadataKind.Root, json as never) : undefined;
  }

  private stageTargets(files: Record<string, TargetFile>, now: Date): Metadata<Targets> {
    const metadata = new Metadata(new Targets({ version: (this.targets?.signed.version ?? 0) + 1, specVersion: '1.0.31', expires: isoSeconds(new Date(now.getTime() + this.expiry.targetsDays * DAY)), targets: files }));
    this.writeStaged('targets.json', metadata);
    return metadata;
  }

  /**
   * Stages the next root version: `rootKeys` with `rootThreshold` (default: the current ones, a
   * renewal), `targetsKeys`/`targetsThreshold` likewise, the online snapshot and timestamp keys.
   * It is published once signed by the threshold of the current root and of itself.
   */
  stageRoot(options: { rootKeys?: Key[]; rootThreshold?: number; targetsKeys?: Key[]; targetsThreshold?: number; now?: Date } = {}): Metadata<Root> {
    const now = options.now ?? new Date();
    const current = this.root?.signed;
    const keysOf = (role: TufRole): Key[] => (current?.roles[role]?.keyIDs ?? []).map((id) => current!.keys[id]!).filter(Boolean);
    const root = new Root({ version: (current?.version ?? 0) + 1, specVersion: '1.0.31', expires: isoSeconds(new Date(now.getTime() + this.expiry.rootDays * DAY)), consistentSnapshot: true });
    const add = (role: TufRole, keys: Key[], threshold: number) => {
      if (keys.length === 0) throw new ServiceError(400, 'TUF_NO_KEYS', `the ${role} role needs at least one key`);
      if (!Number.isInteger(threshold) || threshold < 1 || threshold > keys.length) throw new ServiceError(400, 'TUF_THRESHOLD_INVALID', `the ${role} threshold must be between 1 and its ${keys.length} key(s), not ${threshold}`);
      for (const key of keys) root.addKey(key, role);
      (root.roles[role] as { threshold: number }).threshold = threshold; // @tufjs/models does not export Role; its field is plain
    };
    add('root', options.rootKeys ?? keysOf('root'), options.rootThreshold ?? current?.roles.root?.threshold ?? 1);
    add('targets', options.targetsKeys ?? keysOf('targets'), options.targetsThreshold ?? current?.roles.targets?.threshold ?? 1);
    for (const role of ['snapshot', 'timestamp'] as const) add(role, [this.keys[role]!.key], 1);
    const metadata = new Metadata(root);
    this.writeStaged('root.json', metadata);
    return metadata;
  }

  /** How many more signatures `metadata` needs from the keys `by` trusts for `role` (0: enough). */
  private missingSignatures(by: Root, role: 'root' | 'targets', metadata: Metadata<Root> | Metadata<Targets>): number {
    const roleInfo = by.roles[role]!;
    let valid = 0;
    for (const keyId of roleInfo.keyIDs) {
      try {
        by.keys[keyId]?.verifySignature(metadata as never);
        if (by.keys[keyId]) valid += 1;
      } catch {
        // no valid signature by this key
      }
    }
    return Math.max(0, roleInfo.threshold - valid);
  }

  /**
   * Adds `key`'s signature to the staged root; publishes it when both the current root's threshold
   * and its own are met. Returns what is still missing (empty: published).
   */
  signStagedRoot(key: TufRoleKey, now = new Date()): { published: boolean; version: number; missing: string[] } {
    const staged = this.stagedRoot();
    if (!staged) throw new ServiceError(400, 'TUF_NOTHING_STAGED', 'no root version is staged: stage one with `sigstack tuf rotate-root` (or `tuf init`)');
    const trusted = [...(this.root ? [this.root.signed.roles.root!.keyIDs] : []), staged.signed.roles.root!.keyIDs].flat();
    if (!trusted.includes(key.keyId)) throw new ServiceError(400, 'TUF_KEY_NOT_TRUSTED', `the key ${key.path} (key ID ${key.keyId.slice(0, 16)}…) is not a root key of the current root or of the staged one`);
    staged.sign(roleSigner(key), true);
    this.writeStaged('root.json', staged);
    const missing: string[] = [];
    const ownMissing = this.missingSignatures(staged.signed, 'root', staged);
    if (ownMissing > 0) missing.push(`${ownMissing} more signature(s) by the new root keys (threshold ${staged.signed.roles.root!.threshold})`);
    if (this.root) {
      const oldMissing = this.missingSignatures(this.root.signed, 'root', staged);
      if (oldMissing > 0) missing.push(`${oldMissing} more signature(s) by the keys of root version ${this.root.signed.version} (threshold ${this.root.signed.roles.root!.threshold})`);
    }
    if (missing.length > 0) return { published: false, version: staged.signed.version, missing };
    const bytes = serialize(staged);
    this.write(`${staged.signed.version}.root.json`, bytes);
    this.write('root.json', bytes);
    writeAtomic(this.rootPath, bytes);
    rmSync(join(this.stagedDir, 'root.json'), { force: true });
    const previousTargetsKeys = this.root?.signed.roles.targets?.keyIDs ?? [];
    this.root = staged;
    // Online root or targets keys the new root no longer names are not used again.
    for (const role of ['root', 'targets'] as const) {
      const key = this.keys[role];
      if (key && !staged.signed.roles[role]!.keyIDs.includes(key.keyId)) {
        rmSync(key.path, { force: true });
        delete this.keys[role];
      }
    }
    // New targets keys: the targets must be signed by them (staged for sign-targets unless online).
    const sameTargetsKeys = staged.signed.roles.targets!.keyIDs.every((id) => previousTargetsKeys.includes(id)) && previousTargetsKeys.every((id) => staged.signed.roles.targets!.keyIDs.includes(id));
    if (!sameTargetsKeys && this.targets) {
      if (this.keys.targets) this.publish(undefined, { now, forceTimestamp: true });
      else if (!this.stagedTargets()) this.stageTargets(this.targets.signed.targets, now);
    } else {
      this.signSnapshotAndTimestamp(now, ['root'], true);
    }
    return { published: true, version: staged.signed.version, missing: [] };
  }

  /**
   * Adds `key`'s signature to the staged targets (staging a renewal of the current ones when none
   * is); publishes them, with a new snapshot and timestamp, once the root's targets threshold is met.
   */
  signStagedTargets(key: TufRoleKey, now = new Date()): { published: boolean; version: number; missing: string[] } {
    if (!this.root) throw new ServiceError(400, 'TUF_NOT_STARTED', 'the TUF repository has no root yet: start the stack once');
    if (!this.root.signed.roles.targets!.keyIDs.includes(key.keyId)) throw new ServiceError(400, 'TUF_KEY_NOT_TRUSTED', `the key ${key.path} (key ID ${key.keyId.slice(0, 16)}…) is not a targets key of root version ${this.root.signed.version}`);
    const staged = this.stagedTargets() ?? this.stageTargets(this.targets?.signed.targets ?? {}, now);
    staged.sign(roleSigner(key), true);
    this.writeStaged('targets.json', staged);
    const missing = this.missingSignatures(this.root.signed, 'targets', staged);
    if (missing > 0) return { published: false, version: staged.signed.version, missing: [`${missing} more signature(s) by the targets keys (threshold ${this.root.signed.roles.targets!.threshold})`] };
    this.write(`${staged.signed.version}.targets.json`, serialize(staged));
    this.targets = staged;
    rmSync(join(this.stagedDir, 'targets.json'), { force: true });
    this.signSnapshotAndTimestamp(now, ['targets'], true);
    return { published: true, version: staged.signed.version, missing: [] };
  }

  /** A served file by its path under the repository (e.g. "2.root.json", "targets/<sha256>.trusted_root.json"), or undefined. */
  read(path: string): Buffer | undefined {
    if (!SERVED_PATH.test(path)) return undefined;
    const full = join(this.repositoryDir, path);
    try {
      return readFileSync(full);
    } catch {
      return undefined;
    }
  }
}
