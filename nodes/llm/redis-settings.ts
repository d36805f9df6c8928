/**
 * Where the cluster-wide limits live (queue mode), from the environment. The only module of the
 * package that reads `process.env` (n8n's lint rules for Cloud-verified packages forbid it; a
 * self-hosted package must read n8n's own queue-mode settings, so the exception is kept here).
 *
 * - `BYOK_REDIS=off`: never use Redis; limits and breakers are per process.
 * - `BYOK_REDIS_URL=redis://[user:password@]host:port/db` (or `rediss://` for TLS): use this Redis.
 * - Otherwise, in queue mode (`EXECUTIONS_MODE=queue`, or `QUEUE_BULL_REDIS_HOST` set): n8n's own
 *   `QUEUE_BULL_REDIS_HOST`, `_PORT`, `_USERNAME`, `_PASSWORD`, `_DB`, `_TLS`, with n8n's defaults.
 * - `BYOK_REDIS_PREFIX` (default `byok`): the first part of every key.
 * - `BYOK_REDIS_ON_ERROR=local|fail` (default `local`): what a request does while Redis is
 *   unreachable: per-process limits (one warning in the log), or fail with a clear error.
 *
 * Without Redis, usage and budgets live in a file (usage-store.ts): `BYOK_USAGE_FILE`, else
 * `<N8N_USER_FOLDER, or the home folder>/.n8n/byok/usage.json`, where n8n keeps its own data.
 */

export type OnRedisError = 'local' | 'fail';

export interface RedisSettings {
	/** A redis:// or rediss:// URL; when set, the fields below are unused. */
	url?: string;
	host?: string;
	port?: number;
	username?: string;
	password?: string;
	db?: number;
	tls?: boolean;
	prefix: string;
	onError: OnRedisError;
	/** Host and port, for log lines: never a user name or password. */
	where: string;
}

type Env = Record<string, string | undefined>;

const OFF = new Set(['off', 'false', '0', 'no']);

function text(value: string | undefined): string | undefined {
	const trimmed = value?.trim();
	return trimmed ? trimmed : undefined;
}

function integer(value: string | undefined, fallback: number): number {
	const n = Number(text(value));
	return Number.isInteger(n) && n >= 0 ? n : fallback;
}

/** Redis settings for the cluster-wide limits, or undefined when limits stay per process. */
export function redisSettings(env: Env = process.env): RedisSettings | undefined {
	if (OFF.has(text(env.BYOK_REDIS)?.toLowerCase() ?? '')) return undefined;
	const prefix = text(env.BYOK_REDIS_PREFIX) ?? 'byok';
	const onError: OnRedisError = text(env.BYOK_REDIS_ON_ERROR)?.toLowerCase() === 'fail' ? 'fail' : 'local';
	const url = text(env.BYOK_REDIS_URL);
	if (url) {
		let where = 'the configured URL';
		try {
			const parsed = new URL(url);
			where = `${parsed.hostname}:${parsed.port || 6379}${parsed.pathname.length > 1 ? parsed.pathname : ''}`;
		} catch {
			// ioredis reports the bad URL when it connects; never echo the URL (it may hold a password)
		}
		return { url, prefix, onError, where };
	}
	const queueMode = text(env.EXECUTIONS_MODE) === 'queue' || text(env.QUEUE_BULL_REDIS_HOST) !== undefined || text(env.BYOK_REDIS)?.toLowerCase() === 'on';
	if (!queueMode) return undefined;
	const host = text(env.QUEUE_BULL_REDIS_HOST) ?? 'localhost';
	const port = integer(env.QUEUE_BULL_REDIS_PORT, 6379);
	const db = integer(env.QUEUE_BULL_REDIS_DB, 0);
	return {
		host,
		port,
		username: text(env.QUEUE_BULL_REDIS_USERNAME),
		password: text(env.QUEUE_BULL_REDIS_PASSWORD),
		db,
		tls: text(env.QUEUE_BULL_REDIS_TLS)?.toLowerCase() === 'true',
		prefix,
		onError,
		where: `${host}:${port}${db ? `/${db}` : ''}`,
	};
}

/** Where the embedded usage store lives: BYOK_USAGE_FILE, or inside n8n's user folder (undefined: the home folder). */
export function usageFileSettings(env: Env = process.env): { file?: string; userFolder?: string } {
	return { file: text(env.BYOK_USAGE_FILE), userFolder: text(env.N8N_USER_FOLDER) };
}
