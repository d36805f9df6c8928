/**
 * The one store for counts that must outlive the process: per key (credential), what it used
 * today, yesterday, this month and last month (requests, tokens, cost, per model), the estimates
 * of its requests in flight (budget reservations), which budget warnings were given, and its
 * Requests per Day count when there is no Redis (`storedDays`, for limiter.ts). One JSON
 * document per key, changed only through `update(key, change)`, which applies `change` to the
 * document atomically; all budget logic (budgets.ts) is plain functions over that document, so
 * both backends behave alike:
 *
 * - Embedded (default): one file, `<n8n user folder>/.n8n/byok/usage.json` (or BYOK_USAGE_FILE).
 *   Every change holds a lock file (created exclusively; a lock left by a crashed process is
 *   broken after LOCK_STALE_MS), reads the file, writes a new one and renames it over the old, so
 *   concurrent n8n processes on one machine never lose or tear each other's writes and a crash
 *   leaves the old or the new file, never half of one. Plain JavaScript: no native build, and it
 *   works on every Node version n8n runs on (node:sqlite would need Node 22.5+).
 * - Redis (queue mode, the same Redis as the limits): the document is a hash {v, data} under
 *   `<prefix>:{<credential id>}:usage`; a change reads it and writes it back with a Lua
 *   compare-and-set on `v`, retried on a conflict. Keys hold the credential's id, never its key.
 *
 * Changes that arrive while one is being written are applied together in the next write (one
 * lock or one compare-and-set for all of them), so 16 requests at once cost about one write,
 * not 16. A store that cannot be reached returns UNAVAILABLE (one warning per outage); the
 * caller decides what that means.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type Redis from 'ioredis';
import { connectRedis, UNAVAILABLE, type DayAnswer, type Maybe } from './redis';
import { redisSettings, usageFileSettings, type RedisSettings } from './redis-settings';
import { sleep } from './sleep';

/** What was used in one period, overall or by one model. */
export interface Totals {
	requests: number;
	inputTokens: number;
	outputTokens: number;
	/** Cost of the requests whose price is known. */
	costUsd: number;
	/** Requests whose price is not known: not in costUsd. */
	unpriced: number;
	/** Requests whose token counts the provider did not report (estimated from the text). */
	estimated: number;
}

export interface PeriodUsage extends Totals {
	models: Record<string, Totals>;
	/** Highest budget warning given in this period, per unit, and the limit it was for. */
	warned?: Partial<Record<'usd' | 'tokens', { at: number; limit: number }>>;
}

export interface Reservation {
	usd: number;
	tokens: number;
	/** Wall-clock ms after which it no longer counts (its request cannot still be running). */
	until: number;
}

/** Everything kept for one key. */
export interface KeyUsage {
	credentialId: string;
	label: string;
	provider: string;
	/** The key's budgets as last seen, for reports. */
	budgets?: Record<string, number>;
	/** By UTC date (YYYY-MM-DD): today and yesterday. */
	days: Record<string, PeriodUsage>;
	/** By UTC month (YYYY-MM): this month and last month. */
	months: Record<string, PeriodUsage>;
	reserved: Record<string, Reservation>;
	/** The limiter's per-day count without Redis: requests taken since the day began, and when it resets (wall-clock ms). */
	requestsPerDay?: { used: number; resetAt: number };
	updatedAt: number;
}

export type Change<T> = (usage: KeyUsage) => T;

export interface UsageStore {
	/** Where it lives, for messages (a path, or Redis's host and port). */
	readonly where: string;
	/** With BYOK_REDIS_ON_ERROR=fail, budgets are not checked without the store. */
	readonly failClosed: boolean;
	update<T>(credentialId: string, change: Change<T>): Promise<Maybe<T>>;
	readAll(): Promise<Maybe<KeyUsage[]>>;
	close(): Promise<void>;
}

/** The wall clock that decides days and months (tests move it). */
export const usageClock = { now: (): number => Date.now() };

/** Models kept per period; the rest are added up under OTHER_MODELS, so a model name per item cannot grow the document without bound. */
const MAX_MODELS = 100;
export const OTHER_MODELS = '(other models)';

export function emptyTotals(): Totals {
	return { requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, unpriced: 0, estimated: 0 };
}

function emptyUsage(credentialId: string): KeyUsage {
	return { credentialId, label: credentialId, provider: '', days: {}, months: {}, reserved: {}, updatedAt: 0 };
}

/** The day and month (UTC) at `now`: their keys in `days`/`months`, when they end, and the key of the one before. */
export function periodsAt(now: number): Record<'day' | 'month', { key: string; endsAt: number; previousKey: string }> {
	const d = new Date(now);
	const [y, m, day] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()];
	return {
		day: { key: d.toISOString().slice(0, 10), endsAt: Date.UTC(y, m, day + 1), previousKey: new Date(Date.UTC(y, m, day - 1)).toISOString().slice(0, 10) },
		month: { key: d.toISOString().slice(0, 7), endsAt: Date.UTC(y, m + 1, 1), previousKey: new Date(Date.UTC(y, m - 1, 1)).toISOString().slice(0, 7) },
	};
}

/** Drops what no report needs: days before yesterday, months before last month, reservations past their time. */
function prune(usage: KeyUsage, now: number): void {
	const periods = periodsAt(now);
	const [yesterday, lastMonth] = [periods.day.previousKey, periods.month.previousKey];
	for (const day of Object.keys(usage.days)) if (day < yesterday) delete usage.days[day];
	for (const month of Object.keys(usage.months)) if (month < lastMonth) delete usage.months[month];
	for (const [id, reservation] of Object.entries(usage.reserved)) if (reservation.until <= now) delete usage.reserved[id];
	for (const period of [...Object.values(usage.days), ...Object.values(usage.months)]) {
		const names = Object.keys(period.models);
		if (names.length <= MAX_MODELS) continue;
		const other = (period.models[OTHER_MODELS] ??= emptyTotals());
		names
			.filter((name) => name !== OTHER_MODELS)
			.sort((a, b) => period.models[b].requests - period.models[a].requests)
			.slice(MAX_MODELS - 1)
			.forEach((name) => {
				addTotals(other, period.models[name]);
				delete period.models[name];
			});
	}
}

const TOTALS = Object.keys(emptyTotals()) as Array<keyof Totals>;

export function addTotals(into: Totals, add: Totals): void {
	for (const key of TOTALS) into[key] += add[key];
}

interface Pending {
	credentialId: string;
	change: Change<unknown>;
	resolve: (result: Maybe<unknown>) => void;
	reject: (error: unknown) => void;
}

/** Runs each change on its key's document; a change that throws fails alone. */
function applyChanges(batch: Pending[], documentOf: (credentialId: string) => KeyUsage): Array<() => void> {
	return batch.map((op) => {
		try {
			const result = op.change(documentOf(op.credentialId));
			return () => op.resolve(result);
		} catch (err) {
			return () => op.reject(err);
		}
	});
}

type Log = Pick<Console, 'warn' | 'info'>;

/** Collects changes while a write is under way, then writes them together. */
abstract class BatchingStore implements UsageStore {
	abstract readonly where: string;
	abstract readonly failClosed: boolean;
	private queue: Pending[] = [];
	private writing = false;
	private down = false;

	constructor(protected readonly log: Log) {}

	update<T>(credentialId: string, change: Change<T>): Promise<Maybe<T>> {
		return new Promise<Maybe<T>>((resolve, reject) => {
			this.queue.push({ credentialId, change, resolve: resolve as Pending['resolve'], reject });
			void this.drain();
		});
	}

	private async drain(): Promise<void> {
		if (this.writing) return;
		this.writing = true;
		try {
			while (this.queue.length) await this.commit(this.queue.splice(0));
		} finally {
			this.writing = false;
		}
	}

	/** Applies the batch and settles every change in it (its result, or UNAVAILABLE). Never throws. */
	protected abstract commit(batch: Pending[]): Promise<void>;
	abstract readAll(): Promise<Maybe<KeyUsage[]>>;
	abstract close(): Promise<void>;

	protected failed(batch: Pending[], err: Error & { code?: string }): void {
		for (const op of batch) op.resolve(UNAVAILABLE);
		if (this.down) return;
		this.down = true;
		this.log.warn(`[n8n-nodes-byok] The usage store (${this.where}) is unavailable (${err.code ?? err.message.slice(0, 120)}): ${this.consequence}.`);
	}

	protected worked(): void {
		if (!this.down) return;
		this.down = false;
		this.log.info(`[n8n-nodes-byok] The usage store (${this.where}) is available again; usage counted meanwhile has been added.`);
	}

	protected get consequence(): string {
		return this.failClosed
			? 'requests on keys with budgets fail until it is back (BYOK_REDIS_ON_ERROR=fail); usage is kept in memory and added when it is back'
			: 'budgets are not checked until it is back; usage is kept in memory and added when it is back';
	}
}

/** How long a lock may be held before others take it as left by a crashed process. Holders keep it for milliseconds. */
const LOCK_STALE_MS = 10_000;
/** How long a change waits for the lock before the store counts as unavailable. */
const LOCK_WAIT_MS = 5_000;

interface UsageFile {
	version: 1;
	keys: Record<string, KeyUsage>;
}

/** The embedded store: one JSON file, changed under a lock file, replaced by rename. */
export class FileUsageStore extends BatchingStore {
	readonly failClosed = false;
	readonly where: string;
	private readonly lockPath: string;

	constructor(
		readonly path: string,
		log: Log = console,
	) {
		super(log);
		this.where = path;
		this.lockPath = `${path}.lock`;
	}

	protected async commit(batch: Pending[]): Promise<void> {
		try {
			const settle = await this.locked(async () => {
				const file = await this.read();
				const now = usageClock.now();
				const settle = applyChanges(batch, (id) => (file.keys[id] ??= emptyUsage(id)));
				for (const id of new Set(batch.map((op) => op.credentialId))) prune(file.keys[id], now);
				await this.write(file);
				return settle;
			});
			this.worked();
			settle.forEach((done) => done());
		} catch (err) {
			this.failed(batch, err as Error);
		}
	}

	async readAll(): Promise<Maybe<KeyUsage[]>> {
		try {
			// Under the lock too: some file systems refuse to rename over a file that is open.
			return Object.values((await this.locked(() => this.read())).keys);
		} catch (err) {
			this.failed([], err as Error);
			return UNAVAILABLE;
		}
	}

	async close(): Promise<void> {}

	private async read(): Promise<UsageFile> {
		let text: string;
		try {
			text = await readFile(this.path, 'utf8');
		} catch (err) {
			if ((err as { code?: string }).code === 'ENOENT') return { version: 1, keys: {} };
			throw err;
		}
		try {
			const parsed = JSON.parse(text) as UsageFile;
			if (parsed?.version === 1 && typeof parsed.keys === 'object' && parsed.keys) return parsed;
		} catch {
			// Not ours any more (edited by hand?): kept aside below, counting starts again.
		}
		const aside = `${this.path}.unreadable-${Date.now()}`;
		await rename(this.path, aside);
		this.log.warn(`[n8n-nodes-byok] The usage store ${this.path} could not be read; it was moved to ${aside} and counting starts again.`);
		return { version: 1, keys: {} };
	}

	private async write(file: UsageFile): Promise<void> {
		const temporary = `${this.path}.${randomBytes(6).toString('hex')}.tmp`;
		try {
			await writeFile(temporary, JSON.stringify(file), { mode: 0o600 });
			await rename(temporary, this.path);
		} catch (err) {
			await unlink(temporary).catch(() => undefined);
			throw err;
		}
	}

	/** Runs `work` holding the lock file. */
	private async locked<T>(work: () => Promise<T>): Promise<T> {
		const token = randomBytes(6).toString('hex');
		const giveUpAt = performance.now() + LOCK_WAIT_MS;
		for (;;) {
			try {
				await writeFile(this.lockPath, token, { flag: 'wx', mode: 0o600 });
				break;
			} catch (err) {
				const code = (err as { code?: string }).code;
				if (code === 'ENOENT') {
					await mkdir(dirname(this.lockPath), { recursive: true, mode: 0o700 });
					continue;
				}
				if (code !== 'EEXIST') throw err;
				if (await this.brokeStaleLock()) continue;
				if (performance.now() > giveUpAt) throw Object.assign(new Error(`${this.lockPath} stayed locked for ${LOCK_WAIT_MS / 1000} s`), { code: 'ELOCKED' });
				await sleep(1 + Math.random() * 4);
			}
		}
		try {
			return await work();
		} finally {
			await unlink(this.lockPath).catch(() => undefined);
		}
	}

	private async lockHolder(): Promise<string | undefined> {
		return await readFile(this.lockPath, 'utf8').catch(() => undefined);
	}

	private async brokeStaleLock(): Promise<boolean> {
		const info = await stat(this.lockPath).catch(() => undefined);
		if (!info || Date.now() - info.mtimeMs < LOCK_STALE_MS) return false;
		const holder = await this.lockHolder();
		const again = await stat(this.lockPath).catch(() => undefined);
		if (!again || again.mtimeMs !== info.mtimeMs || (await this.lockHolder()) !== holder) return false;
		await unlink(this.lockPath).catch(() => undefined);
		this.log.warn(`[n8n-nodes-byok] Removed the lock ${this.lockPath}, left behind by a process that stopped while writing.`);
		return true;
	}
}

/** Compare-and-set of a key's document. KEYS: document, index. ARGV: expected version, data, credential id, ttlMs. */
const CAS = `
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', v + 1, 'data', ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
redis.call('SADD', KEYS[2], ARGV[3])
return 1
`;
/** A key nobody used for two months has nothing left to report. */
const DOCUMENT_TTL_MS = 70 * 86_400_000;
const CAS_TRIES = 50;

/** The queue-mode store: one hash per key in the Redis that holds the limits. */
export class RedisUsageStore extends BatchingStore {
	readonly where: string;
	private readonly client: Redis;
	private readonly ready: Promise<void>;

	constructor(
		readonly settings: RedisSettings,
		log: Log = console,
	) {
		super(log);
		this.where = `Redis at ${settings.where}`;
		this.client = connectRedis(settings);
		this.client.defineCommand('byokUsageCas', { numberOfKeys: 2, lua: CAS });
		// Errors surface through commands (and the one warning per outage); the client reconnects by itself.
		this.client.on('error', () => undefined);
		this.ready = Promise.race([new Promise<void>((resolve) => this.client.once('ready', () => resolve())), sleep(2000)]);
	}

	get failClosed(): boolean {
		return this.settings.onError === 'fail';
	}

	private documentKey(credentialId: string): string {
		return `${this.settings.prefix}:{${credentialId}}:usage`;
	}

	private get indexKey(): string {
		return `${this.settings.prefix}:usage:keys`;
	}

	protected async commit(batch: Pending[]): Promise<void> {
		const byKey = new Map<string, Pending[]>();
		for (const op of batch) byKey.set(op.credentialId, [...(byKey.get(op.credentialId) ?? []), op]);
		await Promise.all([...byKey].map(([id, ops]) => this.commitKey(id, ops)));
	}

	private async commitKey(credentialId: string, ops: Pending[]): Promise<void> {
		await this.ready;
		const key = this.documentKey(credentialId);
		try {
			for (let attempt = 0; attempt < CAS_TRIES; attempt++) {
				const [version, data] = await this.client.hmget(key, 'v', 'data');
				const usage = data ? (JSON.parse(data) as KeyUsage) : emptyUsage(credentialId);
				const settle = applyChanges(ops, () => usage);
				prune(usage, usageClock.now());
				const cas = (this.client as unknown as { byokUsageCas: (...a: Array<string | number>) => Promise<number> }).byokUsageCas;
				if ((await cas.call(this.client, key, this.indexKey, version ?? '0', JSON.stringify(usage), credentialId, DOCUMENT_TTL_MS)) === 1) {
					this.worked();
					settle.forEach((done) => done());
					return;
				}
				// Another process wrote in between: read again.
				await sleep(Math.random() * 5);
			}
			throw new Error(`${CAS_TRIES} conflicting writes in a row`);
		} catch (err) {
			this.failed(ops, err as Error);
		}
	}

	async readAll(): Promise<Maybe<KeyUsage[]>> {
		await this.ready;
		try {
			const ids = await this.client.smembers(this.indexKey);
			const documents = await Promise.all(ids.map((id) => this.client.hget(this.documentKey(id), 'data')));
			const gone = ids.filter((_, i) => !documents[i]);
			if (gone.length) await this.client.srem(this.indexKey, ...gone);
			return documents.filter((d): d is string => !!d).map((d) => JSON.parse(d) as KeyUsage);
		} catch (err) {
			this.failed([], err as Error);
			return UNAVAILABLE;
		}
	}

	async close(): Promise<void> {
		this.client.disconnect();
	}
}

/**
 * Requests per Day without Redis, with the contract of the Redis store's `takeDay` (limiter.ts
 * uses whichever there is): the day starts at the first request and resets `dayMs` later; kept
 * here so a restart does not reset it.
 */
export const storedDays = {
	async takeDay(credentialId: string, limit: number, dayMs: number): Promise<Maybe<DayAnswer>> {
		return await usageStore().update(credentialId, (usage) => {
			const now = usageClock.now();
			if (!usage.requestsPerDay || now >= usage.requestsPerDay.resetAt) usage.requestsPerDay = { used: 0, resetAt: now + dayMs };
			const day = usage.requestsPerDay;
			if (day.used >= limit) return { ok: false, used: day.used, resetAt: day.resetAt };
			day.used++;
			return { ok: true, used: day.used, resetAt: day.resetAt };
		});
	},
};

/** The default embedded store's path: BYOK_USAGE_FILE, else inside n8n's user folder. */
export function defaultUsageFile(): string {
	const { file, userFolder } = usageFileSettings();
	return file ?? join(userFolder ?? homedir(), '.n8n', 'byok', 'usage.json');
}

/** undefined: not chosen yet. */
let shared: UsageStore | undefined;

/** The process's store: Redis in queue mode (where the limits are), else the embedded file. */
export function usageStore(): UsageStore {
	if (!shared) {
		const settings = redisSettings();
		shared = settings ? new RedisUsageStore(settings) : new FileUsageStore(defaultUsageFile());
	}
	return shared;
}

/** Replaces the process's store (tests, benchmarks); undefined chooses again from the environment. */
export function useUsageStore(store: UsageStore | undefined): void {
	shared = store;
}
