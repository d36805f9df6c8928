/**
 * Types for cluster.js (plain JavaScript, shared with bench/cluster.js and the e2e): the queue-mode
 * test helpers. Keep in step with the JS and with cluster-child.js's protocol.
 */
import type { Redis } from 'ioredis';

/** What one worker process (cluster-child.js) is asked to do. */
export interface WorkerJob {
	baseUrl: string;
	credentialId: string;
	/** Requests per 'go' (unless run() says otherwise). */
	count: number;
	/** The credential's limits (requestsPerMinute, requestsPerDay, ...). */
	limits?: Record<string, unknown>;
	/** Every request's prompt (default 'hi'). */
	prompt?: string;
	windowMs?: number;
	slackMs?: number;
	dayMs?: number;
	/** One request after the other instead of all at once. */
	sequential?: boolean;
	/** Dispatch settings over the worker's defaults (timeoutMs, retries, ...). */
	options?: Record<string, unknown>;
	/** A second candidate (another key) on this base URL. */
	fallbackUrl?: string;
}

/** One request's outcome in a worker; attempts as "provider/model:outcome[:status]". */
export interface WorkerResult {
	ok: boolean;
	provider?: string;
	kind?: string;
	message?: string;
	attempts: string[];
}

export interface Workers {
	/** Releases every worker at once (worker i sends counts[i] requests, default its job's count); each worker's results. */
	run(counts?: number[]): Promise<WorkerResult[][]>;
	/** The lines each worker printed. */
	output: string[][];
	stop(): Promise<void>;
}

export interface OwnRedisServer {
	port: number;
	/** redis://[:password@]127.0.0.1:<port>/0 */
	url: string;
	start(): Promise<void>;
	stop(): Promise<void>;
}

/** Whether something answers PING on 127.0.0.1:port (default 6379), decided synchronously. */
export function redisReachableSync(port?: number): boolean;

/** Whether a redis-server binary is on PATH. */
export function hasRedisServer(): boolean;

/** A throw-away redis-server on a free port, already started. */
export function ownRedisServer(options?: { password?: string }): Promise<OwnRedisServer>;

/** Starts one worker process per job and waits until each is warm. */
export function startWorkers(jobs: WorkerJob[], env: Record<string, string>, options?: { engine?: 'src' | 'dist'; timeoutMs?: number }): Promise<Workers>;

/** Runs one job per worker process, all released at once; `onReady` runs just before the release. */
export function runWorkers(jobs: WorkerJob[], env: Record<string, string>, options?: { onReady?: () => void; engine?: 'src' | 'dist'; timeoutMs?: number }): Promise<WorkerResult[][]>;

/** A Redis client for checks and cleanup (not the package's own). */
export function redisClient(url: string): Redis;

/** Deletes every key under `prefix`. */
export function deleteKeys(url: string, prefix: string): Promise<void>;

/** The keys under `prefix`, sorted. */
export function listKeys(url: string, prefix: string): Promise<string[]>;

/** Records the start times passing through a credential's window log in Redis; stop() resolves with them, sorted. */
export function watchWindowLog(url: string, key: string, everyMs?: number): { stop(): Promise<number[]> };

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number>;

export function sleep(ms: number): Promise<void>;
