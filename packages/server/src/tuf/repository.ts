// A TUF repository made with @tufjs/models: root, targets, snapshot and timestamp metadata with
// consistent snapshots (N.root.json, N.targets.json, N.snapshot.json, timestamp.json and
// targets/<sha256>.<name>), re-signed when the targets change or a role nears its expiry.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetaFile, Metadata, MetadataKind, Root, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models';
import { ServiceError } from '../errors.js';
import { TUF_ROLES, loadOrCreateRoleKeys, roleSigner, type TufRole, type TufRoleKey } from './keys.js';

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
  private readonly keys: Record<TufRole, TufRoleKey>;
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
    this.keys = loadOrCreateRoleKeys(this.keyDir);
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
      if (!keyIds.includes(this.keys[role].keyId)) {
        throw new ServiceError(500, 'TUF_KEY_MISMATCH', `the TUF ${role} key in ${this.keyDir} is not the one ${this.repositoryDir} trusts; restore the original key or remove ${this.dir} to start a new TUF root`);
      }
    }
  }

  private write(name: string, data: Buffer): void {
    writeAtomic(join(this.repositoryDir, name), data);
  }

  private sign<T extends AnyMetadata>(metadata: T, role: TufRole): T {
    metadata.sign(roleSigner(this.keys[role]), false);
    return metadata;
  }

  private newRoot(version: number, now: Date): Metadata<Root> {
    const root = new Root({ version, specVersion: '1.0.31', expires: isoSeconds(new Date(now.getTime() + this.expiry.rootDays * DAY)), consistentSnapshot: true });
    for (const role of TUF_ROLES) root.addKey(this.keys[role].key, role);
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

    if (!this.root || nearExpiry(this.root.signed.expires, this.expiry.rootDays * DAY, now, 0.25)) {
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
    if (!this.targets || targetsChanged || nearExpiry(this.targets.signed.expires, this.expiry.targetsDays * DAY, now)) {
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

    if (!this.timestamp || signed.length > 0 || options.forceTimestamp || nearExpiry(this.timestamp.signed.expires, this.expiry.timestampHours * HOUR, now)) {
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
    return signed;
  }

  /** Re-signs whatever nears its expiry (a running server calls this now and then). */
  refresh(now = new Date()): TufRole[] {
    return this.publish(undefined, { now });
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
