/**
 * Retries, fallback, circuit breakers and per-key limits, through the real node in n8n-core
 * against the fake provider. Primary: Custom credential at /v1. Fallbacks: Ollama at /fb/v1,
 * Groq at /fb2/v1.
 */
import { breakers } from '../nodes/llm/breaker';
import { backoff, backoffDelay } from '../nodes/llm/dispatch';
import { limiters } from '../nodes/llm/limiter';
import { completion, maxInWindow, startFakeProvider, type FakeStep } from './fake-provider';
import { useScratchUsageStore } from './helpers/usage';
import { chatWorkflow, nodeOutput, runWorkflow } from './helpers/workflow';

type Fake = Awaited<ReturnType<typeof startFakeProvider>>;
let fake: Fake;
const KEY = 'sk-resilience-SECRET-987654321';
const FB_KEY = 'gsk-fallback-SECRET-123456789';

beforeAll(async () => {
	fake = await startFakeProvider();
	backoff.baseMs = 20; // real default 1 s; unit-tested below
});
afterEach(() => {
	fake.reset();
	breakers.clear();
	limiters.clear();
	useScratchUsageStore(); // Requests per Day is kept there: each test starts a fresh day
	limiters.clock = { windowMs: 60_000, dayMs: 86_400_000 };
});
afterAll(() => fake.close());

const byId = (value: string) => ({ __rl: true, mode: 'id', value });
const primary = () => fake.requests.filter((r) => r.path === '/v1/chat/completions');
const fallback = () => fake.requests.filter((r) => r.path === '/fb/v1/chat/completions');
const outcomes = (json: Record<string, unknown>) =>
	(json.attempts as Array<{ provider: string; model: string; outcome: string; status?: number }>).map((a) => `${a.provider}/${a.model}:${a.outcome}${a.status ? `:${a.status}` : ''}`);

interface RunOptions {
	items?: Array<{ json: Record<string, unknown> }>;
	options?: Record<string, unknown>;
	fallbacks?: Array<{ provider: string; model: string }>;
	providers?: string[];
	limits?: Record<string, unknown>;
	model?: string;
	continueOnFail?: boolean;
	nodeName?: string;
	primaryUrl?: string;
}

async function run(o: RunOptions = {}) {
	const fallbacks = o.fallbacks ?? [{ provider: 'ollama', model: 'fb-model' }];
	const providers = o.providers ?? ['custom', ...new Set(fallbacks.map((f) => f.provider))];
	const result = await runWorkflow(
		chatWorkflow({
			items: o.items,
			continueOnFail: o.continueOnFail ?? true,
			nodeName: o.nodeName,
			nodeCredentials: { byokCustomApi: 'primary', byokOllamaApi: 'fb', byokGroqApi: 'fb2' },
			parameters: {
				providers,
				model: byId(o.model ?? 'main-model'),
				prompt: '={{ $json.p ?? "hello" }}',
				fallbacks: { fallback: fallbacks },
				options: { retries: 2, ...o.options },
			},
		}),
		{
			primary: { apiKey: KEY, baseUrl: o.primaryUrl ?? fake.baseUrl, ...o.limits },
			fb: { apiKey: '', baseUrl: `${fake.url}/fb/v1` },
			fb2: { apiKey: FB_KEY, baseUrl: `${fake.url}/fb2/v1` },
		},
	);
	const serialized = JSON.stringify(result);
	expect(serialized).not.toContain(KEY);
	expect(serialized).not.toContain(FB_KEY);
	const out = nodeOutput(result, o.nodeName);
	// Nothing lost: one item out per item in, in order, paired.
	if (!out.error) expect(out.items.map((i) => i.pairedItem)).toEqual((o.items ?? [{ json: {} }]).map((_, i) => ({ item: i })));
	return out;
}

/** Primary answers with `step` (every time); the fallback answers normally. */
const primaryFails = (step: FakeStep) => fake.setHandler((r) => (r.path.startsWith('/v1/') ? step : undefined));

describe('fault matrix: what each failure does', () => {
	const retried: Array<[string, FakeStep, string]> = [
		['500', { status: 500, body: { error: { message: 'boom' } } }, 'server:500'],
		['502 (HTML)', { status: 502, body: '<html><h1>502 Bad Gateway</h1></html>' }, 'server:502'],
		['503', { status: 503, body: { error: { message: 'overloaded' } } }, 'server:503'],
		['429 rate limit (no Retry-After: backoff)', { status: 429, body: { error: { message: 'Rate limit reached', code: 'rate_limit_exceeded' } } }, 'rate_limited:429'],
		['HTML body with 200', { status: 200, body: '<!doctype html><html>login</html>' }, 'invalid_response'],
		['invalid JSON', { status: 200, body: '{"choices": [', headers: { 'content-type': 'application/json' } }, 'invalid_response'],
		['empty choices', { body: { id: 'x', choices: [] } }, 'invalid_response'],
		['connection reset', { reset: true }, 'connection'],
	];
	test.each(retried)('%s: retried on the same candidate, then the fallback answers', async (_name, step, outcome) => {
		primaryFails(step);
		const { items } = await run();
		expect(items[0].json).toMatchObject({ text: 'echo: hello', provider: 'ollama', model: 'fb-model', fallbackUsed: true });
		// With a fallback waiting, an outage costs one retry (Retries Before Fallback); a rate limit keeps Retries per Candidate (2 here).
		const tries = outcome.startsWith('rate_limited') ? 3 : 2;
		expect(outcomes(items[0].json)).toEqual([...Array(tries).fill(`custom/main-model:${outcome}`), 'ollama/fb-model:ok:200']);
		expect(primary()).toHaveLength(tries);
		expect(fallback()).toHaveLength(1);
	});

	test('reset mid-body: retried, then the fallback answers', async () => {
		primaryFails({ resetMidBody: true, body: (b: { model: string }) => completion(b, 'x'.repeat(5000)) });
		const { items } = await run();
		expect(items[0].json.provider).toBe('ollama');
		expect(primary()).toHaveLength(2);
	});

	test('Retries Before Fallback is configurable; the last candidate keeps Retries per Candidate', async () => {
		fake.setHandler(() => ({ status: 503, body: { error: { message: 'overloaded' } } }));
		const { items } = await run({ options: { retries: 3, retriesBeforeFallback: 0 } });
		expect(outcomes(items[0].json)).toEqual(['custom/main-model:server:503', ...Array(4).fill('ollama/fb-model:server:503')]);
	});

	test('a hanging server: timeout, retried, then the fallback answers', async () => {
		primaryFails({ hang: true });
		const { items } = await run({ options: { timeout: 1, retries: 1 } });
		expect(outcomes(items[0].json)).toEqual(['custom/main-model:timeout', 'custom/main-model:timeout', 'ollama/fb-model:ok:200']);
	});

	test('connection refused: retried, then the fallback answers', async () => {
		const closed = await startFakeProvider().then(async (f) => (await f.close(), f.url));
		const { items } = await run({ primaryUrl: `${closed}/v1`, options: { retries: 1 } });
		expect(outcomes(items[0].json)).toEqual(['custom/main-model:connection', 'custom/main-model:connection', 'ollama/fb-model:ok:200']);
	});

	const immediate: Array<[string, FakeStep, string]> = [
		['429 quota', { status: 429, body: { error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' } } }, 'quota_exhausted:429'],
		['402', { status: 402, body: { error: { message: 'Insufficient credits' } } }, 'quota_exhausted:402'],
		['401', { status: 401, body: { error: { message: `Incorrect API key provided: ${KEY}` } } }, 'auth:401'],
		['403', { status: 403, body: { error: { message: 'Forbidden' } } }, 'auth:403'],
		['404 model', { status: 404, body: { error: { message: 'The model `main-model` does not exist', code: 'model_not_found' } } }, 'model_not_found:404'],
	];
	test.each(immediate)('%s: straight to the fallback, no retry', async (_name, step, outcome) => {
		primaryFails(step);
		const { items } = await run();
		expect(items[0].json).toMatchObject({ provider: 'ollama', text: 'echo: hello' });
		expect(outcomes(items[0].json)).toEqual([`custom/main-model:${outcome}`, 'ollama/fb-model:ok:200']);
		expect(primary()).toHaveLength(1);
	});

	test('400 context length: the next candidate answers, even with the same model name on another server', async () => {
		fake.setHandler((r) => (r.path.startsWith('/v1/') ? { status: 400, body: { error: { message: "This model's maximum context length is 8192 tokens", code: 'context_length_exceeded' } } } : undefined));
		const { items } = await run({ fallbacks: [{ provider: 'ollama', model: 'main-model' }] });
		expect(outcomes(items[0].json)).toEqual(['custom/main-model:context_length:400', 'ollama/main-model:ok:200']);
		expect(fallback()).toHaveLength(1);
	});

	test('400 context length: the same credential and model is not asked again, and the skip is in attempts', async () => {
		fake.setHandler((r) => (r.body?.model === 'main-model' ? { status: 400, body: { error: { message: "This model's maximum context length is 8192 tokens", code: 'context_length_exceeded' } } } : undefined));
		const { items } = await run({
			providers: ['custom', 'groq'],
			// A router category list can name the same candidate twice; Groq then answers.
			fallbacks: [{ provider: 'custom', model: 'main-model' }, { provider: 'groq', model: 'long-model' }],
		});
		const attempts = items[0].json.attempts as Array<Record<string, unknown>>;
		expect(outcomes(items[0].json)).toEqual(['custom/main-model:context_length:400', 'custom/main-model:context_length', 'groq/long-model:ok:200']);
		expect(attempts[1]).toMatchObject({ skipped: true, reason: expect.stringMatching(/already said this input is too long/) });
		expect(primary()).toHaveLength(1);
	});

	test('400 other: the request is at fault, so it fails at once with no fallback', async () => {
		primaryFails({ status: 400, body: { error: { message: "Invalid value for 'temperature'" } } });
		const { items } = await run();
		expect(items[0].json).toMatchObject({ error: "HTTP 400: Invalid value for 'temperature'", errorKind: 'bad_request', status: 400 });
		expect(primary()).toHaveLength(1);
		expect(fallback()).toHaveLength(0);
	});

	test('every candidate fails: the error lists each attempt and no key', async () => {
		fake.setHandler(() => ({ status: 503, body: { error: { message: `down (key ${KEY})` } } }));
		const { items } = await run({ options: { retries: 0 } });
		expect(items[0].json).toMatchObject({ errorKind: 'server', status: 503 });
		expect(outcomes(items[0].json)).toEqual(['custom/main-model:server:503', 'ollama/fb-model:server:503']);
		expect(items[0].json.description).toContain(
			'Attempts: custom/main-model: server error (HTTP 503), moved on to the next model; ollama/fb-model: server error (HTTP 503), no model left to try.',
		);
		expect(items[0].json.error).toBe('HTTP 503: down (key ***)');
	});

	test('without continueOnFail, a failed item stops the node with its index', async () => {
		fake.setHandler((r) => (JSON.stringify(r.body).includes('bad') ? { status: 400, body: { error: { message: 'nope' } } } : undefined));
		const { error } = await run({ continueOnFail: false, items: [{ json: { p: 'ok' } }, { json: { p: 'bad' } }] });
		expect((error as unknown as { context: { itemIndex: number } }).context.itemIndex).toBe(1);
	});

	test('many items with mixed faults: each yields an answer or an error item, in order', async () => {
		fake.setHandler((r) => {
			const p = JSON.stringify(r.body?.messages ?? '');
			if (r.path.startsWith('/v1/') && p.includes('flaky')) return { status: 503, headers: { 'retry-after-ms': '5' } };
			if (p.includes('broken')) return { status: 400, body: { error: { message: 'bad' } } };
			return undefined;
		});
		const ps = ['a', 'flaky', 'broken', 'b', 'flaky', 'c'];
		const { items } = await run({ items: ps.map((p) => ({ json: { p } })) });
		expect(items.map((i) => i.json.text ?? i.json.errorKind)).toEqual(['echo: a', 'echo: flaky', 'bad_request', 'echo: b', 'echo: flaky', 'echo: c']);
		expect(items.map((i) => i.json.provider ?? null)).toEqual(['custom', 'ollama', null, 'custom', 'ollama', 'custom']);
	});
});

describe('Retry-After', () => {
	test('seconds: the same candidate is asked again after the wait', async () => {
		fake.enqueue({ status: 429, headers: { 'retry-after': '1' }, body: { error: { message: 'slow down' } } });
		const { items } = await run();
		expect(items[0].json).toMatchObject({ provider: 'custom', text: 'echo: hello' });
		const [first, second] = primary();
		expect(second.at - first.at).toBeGreaterThanOrEqual(990);
		expect((items[0].json.attempts as Array<{ waitedMs: number }>)[1].waitedMs).toBeGreaterThanOrEqual(1000);
	});

	test('an HTTP date: waited until then', async () => {
		const at = new Date(Date.now() + 2000).toUTCString();
		fake.enqueue({ status: 429, headers: { 'retry-after': at }, body: { error: { message: 'slow down' } } });
		const { items } = await run();
		expect(items[0].json.provider).toBe('custom');
		const [first, second] = primary();
		expect(second.at).toBeGreaterThanOrEqual(Date.parse(at) - 10);
		expect(second.at - first.at).toBeLessThan(2500);
	});

	test('retry-after-ms is honoured', async () => {
		fake.enqueue({ status: 503, headers: { 'retry-after-ms': '300' } });
		await run();
		const [first, second] = primary();
		expect(second.at - first.at).toBeGreaterThanOrEqual(295);
	});

	test('longer than Max Wait: moves to the next candidate instead of sleeping', async () => {
		primaryFails({ status: 429, headers: { 'retry-after': '120' }, body: { error: { message: 'come back later' } } });
		const { items } = await run({ options: { maxWait: 60 } });
		expect(outcomes(items[0].json)).toEqual(['custom/main-model:rate_limited:429', 'ollama/fb-model:ok:200']);
		expect(primary()).toHaveLength(1);
	});

	test('backoff: 1 s doubling to 30 s, each +-25%', () => {
		const saved = backoff.baseMs;
		backoff.baseMs = 1000;
		try {
			expect([0, 1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, () => 0.5))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
			expect(backoffDelay(0, () => 0)).toBe(750);
			expect(backoffDelay(0, () => 1)).toBe(1250);
		} finally {
			backoff.baseMs = saved;
		}
	});
});

describe('fallback order', () => {
	test('three providers: tried in the order given', async () => {
		fake.setHandler((r) => (r.path.startsWith('/v1/') || r.path.startsWith('/fb/') ? { status: 401, body: { error: { message: 'no' } } } : undefined));
		const { items } = await run({
			fallbacks: [
				{ provider: 'ollama', model: 'second' },
				{ provider: 'groq', model: 'third' },
			],
		});
		expect(fake.chatRequests.map((r) => r.path)).toEqual(['/v1/chat/completions', '/fb/v1/chat/completions', '/fb2/v1/chat/completions']);
		expect(items[0].json).toMatchObject({ provider: 'groq', model: 'third' });
		expect(fake.chatRequests[2].headers.authorization).toBe(`Bearer ${FB_KEY}`);
	});

	test('a fallback on a provider that is not selected is a clear error', async () => {
		const { items } = await run({ providers: ['custom'], fallbacks: [{ provider: 'groq', model: 'x' }] });
		expect(items[0].json.error).toMatch(/Fallback 1 uses Groq, which is not selected under Providers/);
		expect(fake.requests).toHaveLength(0);
	});
});

describe('circuit breaker', () => {
	test('opens after N failures, skips the candidate, probes after the cooldown, closes on success', async () => {
		const options = { retries: 0, breakerThreshold: 2, breakerCooldown: 1 };
		primaryFails({ status: 500 });
		await run({ options });
		await run({ options, nodeName: 'Another BYOK Chat' }); // another node: breakers are shared
		expect(primary()).toHaveLength(2);

		const open = await run({ options });
		expect(outcomes(open.items[0].json)).toEqual(['custom/main-model:breaker_open', 'ollama/fb-model:ok:200']);
		expect(primary()).toHaveLength(2);

		await new Promise((r) => setTimeout(r, 1100));
		// The primary has recovered, and answers slowly enough that the three items overlap.
		fake.setHandler((r) => (r.path.startsWith('/v1/') ? { delayMs: 300 } : undefined));
		const probe = await run({ options: { ...options, concurrency: 3 }, items: [{ json: {} }, { json: {} }, { json: {} }] });
		// Exactly one probe goes out while the breaker is half-open; it succeeds and closes it.
		expect(primary()).toHaveLength(3);
		expect(probe.items.map((i) => i.json.provider).sort()).toEqual(['custom', 'ollama', 'ollama']);
		const after = await run({ options });
		expect(outcomes(after.items[0].json)).toEqual(['custom/main-model:ok:200']);
	});

	test('a failed probe reopens the breaker', async () => {
		const options = { retries: 0, breakerThreshold: 1, breakerCooldown: 1 };
		primaryFails({ status: 503 });
		await run({ options });
		await new Promise((r) => setTimeout(r, 1100));
		const probe = await run({ options });
		expect(outcomes(probe.items[0].json)[0]).toBe('custom/main-model:server:503');
		const again = await run({ options });
		expect(outcomes(again.items[0].json)[0]).toBe('custom/main-model:breaker_open');
	});

	test('bad requests do not open it', async () => {
		primaryFails({ status: 400, body: { error: { message: 'bad' } } });
		for (let i = 0; i < 3; i++) await run({ options: { breakerThreshold: 1 } });
		expect(primary()).toHaveLength(3);
	});
});


describe('per-key limits', () => {
	test('many executions and items on one key never exceed the per-minute limit in any sliding window', async () => {
		// A 1 s "minute", its window held 200 ms longer: a burst of 10 through n8n-core on a loaded
		// machine can take longer to arrive than the 25 ms slack of such a short window (on a real
		// minute the slack is 600 ms). Warm the connection too: a cold first request arrives tens of
		// ms after it is sent.
		limiters.clock = { windowMs: 1000, dayMs: 86_400_000, slackMs: 200 };
		await run({ nodeName: 'Warm up' });
		fake.reset();
		limiters.clear();
		const items = Array.from({ length: 8 }, (_, i) => ({ json: { p: `q${i}` } }));
		const runs = await Promise.all(
			Array.from({ length: 3 }, (_, n) => run({ items, nodeName: `Chat ${n}`, limits: { requestsPerMinute: 10 }, options: { concurrency: 8 } })),
		);
		for (const r of runs) expect(r.items.every((i) => i.json.provider === 'custom')).toBe(true);
		const times = primary().map((r) => r.at);
		expect(times).toHaveLength(24);
		expect(maxInWindow(times, 1000)).toBeLessThanOrEqual(10);
	});

	test('concurrency never exceeds Max Concurrent', async () => {
		fake.setHandler(() => ({ delayMs: 40 }));
		const items = Array.from({ length: 12 }, () => ({ json: {} }));
		await Promise.all([run({ items, limits: { maxConcurrent: 3 }, options: { concurrency: 10 } }), run({ items, nodeName: 'Other', limits: { maxConcurrent: 3 }, options: { concurrency: 10 } })]);
		expect(fake.maxInFlight).toBe(3);
	});

	test('Pacing: by default a key bursts up to its limit at once, then waits for the window; Smoothed spreads starts evenly', async () => {
		const items = Array.from({ length: 6 }, () => ({ json: {} }));
		// A real 60 s window: five go at once, the sixth would start a minute after the first (past its timeout).
		const burst = await run({ items, limits: { requestsPerMinute: 5 }, fallbacks: [], providers: ['custom'], options: { timeout: 2, retries: 0, concurrency: 6 } });
		expect(burst.items.map((i) => i.json.provider ?? i.json.errorKind)).toEqual(['custom', 'custom', 'custom', 'custom', 'custom', 'timeout']);
		expect(primary()).toHaveLength(5);
		fake.reset();
		// 300 per minute, smoothed: one start every 202 ms (the window and its 1% slack over the limit).
		await run({ items: items.slice(0, 3), nodeName: 'Smoothed', limits: { requestsPerMinute: 300, pacing: 'smoothed' }, options: { concurrency: 3 } });
		const times = primary().map((r) => r.at);
		expect(times).toHaveLength(3);
		for (const gap of times.slice(1).map((t, i) => t - times[i])) expect(gap).toBeGreaterThanOrEqual(150);
	});

	test('daily cap: the key is skipped for the fallback, or the item fails saying which key, what limit, when it resets', async () => {
		const items = Array.from({ length: 3 }, () => ({ json: {} }));
		const withFallback = await run({ items, limits: { requestsPerDay: 2 }, options: { concurrency: 1 } });
		expect(withFallback.items.map((i) => i.json.provider)).toEqual(['custom', 'custom', 'ollama']);
		expect(outcomes(withFallback.items[2].json)).toEqual(['custom/main-model:daily_limit', 'ollama/fb-model:ok:200']);

		const alone = await run({ limits: { requestsPerDay: 2 }, fallbacks: [], providers: ['custom'] });
		expect(alone.items[0].json.errorKind).toBe('daily_limit');
		expect(alone.items[0].json.error).toMatch(/The key "Test primary" reached its limit of 2 requests per day; it resets at \d{4}-\d\d-\d\dT/);
	});

	test('changed limits take effect on the next execution, and what the key already used stays used', async () => {
		const one = await run({ limits: { requestsPerDay: 2 }, fallbacks: [], providers: ['custom'], items: [{ json: {} }, { json: {} }, { json: {} }], options: { concurrency: 1 } });
		expect(one.items.map((i) => i.json.provider ?? i.json.errorKind)).toEqual(['custom', 'custom', 'daily_limit']);
		// Raised by one, and Max Concurrent added, the same day: one more, not a fresh allowance of 3.
		const raised = await run({ limits: { requestsPerDay: 3, maxConcurrent: 2 }, fallbacks: [], providers: ['custom'], items: [{ json: {} }, { json: {} }], options: { concurrency: 1 } });
		expect(raised.items.map((i) => i.json.provider ?? i.json.errorKind)).toEqual(['custom', 'daily_limit']);
		expect(primary()).toHaveLength(3);
	});

	test('waiting for a slot counts against the timeout', async () => {
		const items = [{ json: {} }, { json: {} }];
		const { items: out } = await run({ items, limits: { requestsPerMinute: 1 }, fallbacks: [], providers: ['custom'], options: { timeout: 1, retries: 0, concurrency: 2 } });
		expect(out[0].json.provider).toBe('custom');
		expect(out[1].json).toMatchObject({ errorKind: 'timeout' });
		expect(out[1].json.error).toMatch(/still waiting for a slot under the key's rate limits/);
		expect(primary()).toHaveLength(1);
	});
});
