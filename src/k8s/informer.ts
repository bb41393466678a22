// List-then-watch cache of one resource, the client-go informer pattern in miniature: listWatch (watch.ts) keeps
// it current, this module keeps the objects, the indexes and the handlers.
import type { KubeClient } from './client.js';
import type { KubeObject } from './types.js';
import { listWatch, type ChangeType } from './watch.js';

export type InformerEvent = 'add' | 'update' | 'delete';
export type Handler<T> = (event: InformerEvent, object: T, previous?: T) => void;

export const keyOf = (o: KubeObject) =>
  o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;

/** Values an object is filed under in one index (client-go's IndexFunc); none to leave it out. */
export type IndexFunc<T> = (object: T) => (string | undefined)[];

export interface InformerOptions<T extends KubeObject> {
  labelSelector?: string;
  fieldSelector?: string;
  onError?: (e: unknown) => void;
  /** Keeps only what the cache needs of each object (client-go's SetTransform); it must keep metadata. */
  transform?: (object: KubeObject) => T;
  /** List in pages of this many objects (one snapshot: the continue token pins the resourceVersion). */
  pageSize?: number;
  /** Lets the process exit while the watch is open (a cache a worker's activities share, not a controller). */
  unref?: boolean;
}

export class Informer<T extends KubeObject> {
  private readonly objects = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  /** index name → value → object key → object */
  private readonly indices = new Map<string, Map<string, Map<string, T>>>();
  private readonly handlers: Handler<T>[] = [];
  private readonly abort = new AbortController();
  private synced!: Promise<void>;
  private running = false;
  private listedOnce = false;
  private watching = false;
  private lastFailed = false;

  constructor(
    private readonly client: KubeClient,
    private readonly path: string,
    private readonly options: InformerOptions<T> = {},
  ) {}

  /** True while the cache follows the API server: listed, and a watch from that list is open. */
  get current(): boolean {
    return this.listedOnce && this.watching;
  }

  /** True when the last list or watch failed (until one succeeds again): waiting for the cache would not help. */
  get failing(): boolean {
    return this.lastFailed;
  }

  on(handler: Handler<T>): this {
    this.handlers.push(handler);
    return this;
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  /** Adds an index kept up to date with the cache, so lookups need not scan every object. */
  addIndex(name: string, fn: IndexFunc<T>): this {
    this.indexers.set(name, fn);
    this.indices.set(name, new Map());
    for (const [key, object] of this.objects) this.index(name, fn, key, object, 'add');
    return this;
  }

  /** The cached objects filed under `value` in the index `name`. */
  byIndex(name: string, value: string): T[] {
    const index = this.indices.get(name);
    if (!index) throw new Error(`no index ${name}`);
    return [...(index.get(value)?.values() ?? [])];
  }

  private index(name: string, fn: IndexFunc<T>, key: string, object: T, op: 'add' | 'remove') {
    const index = this.indices.get(name);
    if (!index) return;
    for (const value of new Set(fn(object))) {
      if (value === undefined) continue;
      let bucket = index.get(value);
      if (op === 'add') {
        if (!bucket) index.set(value, (bucket = new Map()));
        bucket.set(key, object);
      } else if (bucket) {
        bucket.delete(key);
        if (bucket.size === 0) index.delete(value);
      }
    }
  }

  /** Puts `object` in the cache under `key` (or takes the key out), keeping every index in step. */
  private store(key: string, object: T | undefined) {
    const previous = this.objects.get(key);
    for (const [name, fn] of this.indexers) {
      if (previous) this.index(name, fn, key, previous, 'remove');
      if (object) this.index(name, fn, key, object, 'add');
    }
    if (object) this.objects.set(key, object);
    else this.objects.delete(key);
  }

  /** Starts the loop; resolves once the first list is in the cache and a watch from it is open. */
  start(): Promise<void> {
    if (this.running) return this.synced;
    this.running = true;
    let markSynced!: () => void;
    this.synced = new Promise((resolve) => (markSynced = resolve));
    void this.loop(markSynced);
    return this.synced;
  }

  stop(): void {
    this.running = false;
    this.abort.abort();
  }

  private emit(event: InformerEvent, object: T, previous?: T) {
    for (const handler of this.handlers) {
      try {
        handler(event, object, previous);
      } catch (e) {
        this.options.onError?.(e);
      }
    }
  }

  private async loop(markSynced: () => void): Promise<void> {
    let seen = new Set<string>();
    await listWatch<KubeObject>(this.client, this.path, {
      labelSelector: this.options.labelSelector,
      fieldSelector: this.options.fieldSelector,
      pageSize: this.options.pageSize,
      signal: this.abort.signal,
      unref: this.options.unref,
      onPage: (items) => {
        for (const item of items) {
          seen.add(keyOf(item));
          this.apply('MODIFIED', item);
        }
      },
      onListed: () => {
        for (const [key, object] of this.objects) {
          if (!seen.has(key)) {
            this.store(key, undefined);
            this.emit('delete', object);
          }
        }
        seen = new Set();
        this.listedOnce = true;
      },
      onChange: (type, object) => this.apply(type, object),
      onWatching: () => {
        this.watching = true;
        this.lastFailed = false;
        markSynced();
      },
      onRetry: (e) => {
        this.watching = false;
        this.lastFailed = true;
        this.options.onError?.(e);
      },
    });
    this.watching = false;
  }

  private apply(type: ChangeType, raw: KubeObject) {
    const object = this.options.transform ? this.options.transform(raw) : (raw as T);
    const key = keyOf(object);
    const previous = this.objects.get(key);
    if (type === 'DELETED') {
      this.store(key, undefined);
      this.emit('delete', object, previous);
      return;
    }
    if (previous?.metadata.resourceVersion === object.metadata.resourceVersion) return;
    this.store(key, object);
    this.emit(previous ? 'update' : 'add', object, previous);
  }
}
