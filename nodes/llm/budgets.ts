/**
 * What each key spends, and its budgets: per day and per month (UTC), in USD and/or tokens.
 *
 * Around every HTTP call (dispatch.ts `send`): `admit` reserves the request's estimate against
 * the key's budgets (waiting while requests in flight hold what is left, refusing once a budget
 * is spent), and the ticket it returns settles the real figures afterwards: tokens and cost by
 * model, into today's and this month's usage, whether or not the key has budgets. A request is
 * sent only while what the key spent plus the estimates of its requests in flight is below each
 * budget, so a budget is overshot by at most the last request's cost plus whatever requests in
 * flight cost beyond their estimates (the estimate: the prompt's length / 4 plus Max Tokens).
 *
 * Warnings at 50, 75, 90 and 100% are given once per budget and period, across processes (the
 * store remembers which were given): to the `onWarning` callback (the n8n log) and on the
 * output item of the request that crossed them. Everything persistent is in usage-store.ts.
 */
import type { Answer } from './answer';
import type { ProviderInfo } from './catalog';
import { InputError, LlmError } from './errors';
import { costOf, roundUsd, type Cost, type OwnPrices } from './pricing';
import { sleep } from './sleep';
import { addTotals, emptyTotals, periodsAt, usageClock, usageStore, type KeyUsage, type PeriodUsage, type Totals } from './usage-store';
import { UNAVAILABLE } from './redis';

export type Period = 'day' | 'month';
export type Unit = 'usd' | 'tokens';

/** A key's budgets; undefined = none. */
export type Budgets = Partial<Record<'dayUsd' | 'monthUsd' | 'dayTokens' | 'monthTokens', number>>;

/** Each budget: its credential field (ProviderCredential.ts builds the fields from this table). */
export const BUDGET_FIELDS = [
	{ key: 'dayUsd', period: 'day', unit: 'usd', field: 'dailyBudgetUsd', label: 'Daily Budget (USD)' },
	{ key: 'monthUsd', period: 'month', unit: 'usd', field: 'monthlyBudgetUsd', label: 'Monthly Budget (USD)' },
	{ key: 'dayTokens', period: 'day', unit: 'tokens', field: 'dailyBudgetTokens', label: 'Daily Budget (Tokens)' },
	{ key: 'monthTokens', period: 'month', unit: 'tokens', field: 'monthlyBudgetTokens', label: 'Monthly Budget (Tokens)' },
] as const satisfies ReadonlyArray<{ key: keyof Budgets; period: Period; unit: Unit; field: string; label: string }>;

export const PRICE_FIELDS = [
	{ key: 'inputPerMillion', field: 'inputPricePerMillion', label: 'Input Price (USD per Million Tokens)' },
	{ key: 'outputPerMillion', field: 'outputPricePerMillion', label: 'Output Price (USD per Million Tokens)' },
] as const satisfies ReadonlyArray<{ key: keyof OwnPrices; field: string; label: string }>;

export const WARN_AT = [50, 75, 90, 100] as const;

/** Output tokens reserved for a request without Max Tokens. */
export const DEFAULT_OUTPUT_ESTIMATE = 1024;
/** Input tokens counted per image in an estimate (a 512-pixel tile at OpenAI is 765). */
const IMAGE_TOKENS = 1000;
/** How often a request waiting for budget held by other processes' requests looks again. */
const WAIT_POLL_MS = 100;

// ---------------------------------------------------------------------------------------------
// The credential's fields

const CURRENCY_SYMBOL = /[€£¥₹₩₽₺₪฿₫₦₱]/;

/**
 * A budget or price as typed into a credential (a number field, or text from an expression):
 * US dollars ("5", "$5", "5 USD") or tokens ("200000", "200,000 tokens"). Anything else is an
 * input error naming the field. Empty or 0 = not set.
 */
function readAmount(value: unknown, where: string, field: string, label: string, unit: Unit): number | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	let n = typeof value === 'number' ? value : Number.NaN;
	if (typeof value === 'string') {
		let text = value.trim();
		if (unit === 'usd') {
			// A currency code written before or after the amount: "20 EUR", "GBP 3".
			const code = (/^([a-z]{3})\s*[-+\d.]/i.exec(text)?.[1] ?? /[\d.]\s*([a-z]{3})$/i.exec(text)?.[1])?.toUpperCase();
			const symbol = CURRENCY_SYMBOL.exec(text)?.[0];
			if ((code && code !== 'USD') || symbol) {
				throw new InputError(field, `${where}'s ${label} is in ${code && code !== 'USD' ? code : symbol}, but budgets and prices are in US dollars (USD), the currency of the price table. Convert the amount to USD.`);
			}
			text = text.replace(/^\s*(US)?\$|\bUSD\b/gi, '').trim();
		} else {
			text = text.replace(/\s*tokens?\s*$/i, '').replace(/^(\d{1,3})((,\d{3})+)$/, (_, head: string, rest: string) => head + rest.replace(/,/g, ''));
		}
		n = text === '' ? Number.NaN : Number(text.replace(/_/g, ''));
	}
	const example = unit === 'usd' ? 'an amount in US dollars, e.g. 5 or 0.25' : 'a whole number of tokens, e.g. 200000';
	if (typeof n !== 'number' || !Number.isFinite(n)) throw new InputError(field, `${where}'s ${label} must be a number (got ${JSON.stringify(value)}). Enter ${example}.`);
	if (n < 0) throw new InputError(field, `${where}'s ${label} must not be negative (got ${n}). Enter ${example}${label.includes('Budget') ? ', or 0 for no budget' : ''}.`);
	if (unit === 'tokens' && !Number.isInteger(n)) throw new InputError(field, `${where}'s ${label} must be a whole number of tokens (got ${n}).`);
	return n;
}

/** The budgets and own prices in a credential's data; bad values are input errors naming the field. */
export function readSpendSettings(data: Record<string, unknown>, provider: ProviderInfo): { budgets?: Budgets; prices?: OwnPrices } {
	const where = `The ${provider.name} credential`;
	const budgets: Budgets = {};
	for (const b of BUDGET_FIELDS) {
		const amount = readAmount(data[b.field], where, b.field, b.label, b.unit);
		if (amount) budgets[b.key] = amount;
	}
	let prices: OwnPrices | undefined;
	if (data.pricing === 'own') {
		prices = { inputPerMillion: 0, outputPerMillion: 0 };
		for (const p of PRICE_FIELDS) {
			const amount = readAmount(data[p.field], where, p.field, p.label, 'usd');
			if (amount === undefined) throw new InputError(p.field, `${where} uses its own prices but has no ${p.label}. Enter it (0 if the model is free).`);
			prices[p.key] = amount;
		}
	}
	return { budgets: Object.keys(budgets).length ? budgets : undefined, prices };
}

// ---------------------------------------------------------------------------------------------
// Periods (UTC, the same for every workflow and worker: usage-store.ts periodsAt)

function periodUsage(usage: KeyUsage, period: Period, key: string): PeriodUsage {
	const periods = period === 'day' ? usage.days : usage.months;
	return (periods[key] ??= { ...emptyTotals(), models: {} });
}

const usedOf = (totals: Totals, unit: Unit) => (unit === 'usd' ? roundUsd(totals.costUsd) : totals.inputTokens + totals.outputTokens);

export interface Gauge {
	used: number;
	limit: number;
	percent: number;
}

/** What a key's budgets stand at: per period, the gauge of each budget it has, and when the period ends. */
export type BudgetStatus = Partial<Record<Period, Partial<Record<Unit, Gauge>> & { resetsAt: string }>>;

export function budgetStatus(usage: KeyUsage, budgets: Budgets, now: number): BudgetStatus {
	const periods = periodsAt(now);
	const status: BudgetStatus = {};
	for (const b of BUDGET_FIELDS) {
		const limit = budgets[b.key];
		if (!limit) continue;
		const periodOf = (status[b.period] ??= { resetsAt: new Date(periods[b.period].endsAt).toISOString() });
		const used = usedOf(periodUsage(usage, b.period, periods[b.period].key), b.unit);
		periodOf[b.unit] = { used, limit, percent: Math.round((used / limit) * 1000) / 10 };
	}
	return status;
}

const PERIOD_NAME: Record<Period, string> = { day: 'daily', month: 'monthly' };
const amountText = (unit: Unit, n: number) => (unit === 'usd' ? `$${n < 1 ? n.toFixed(4).replace(/0{1,2}$/, '') : n.toFixed(2)}` : `${n.toLocaleString('en-US')} tokens`);

// ---------------------------------------------------------------------------------------------
// Changes to a key's usage (run by the store, atomically; pure functions of the document)

interface Reserve {
	id: string;
	usd: number;
	tokens: number;
	until: number;
	budgets: Budgets;
	now: number;
}

type ReserveOutcome = { ok: true } | { ok: false; busy: true } | { ok: false; busy: false; budget: (typeof BUDGET_FIELDS)[number]; used: number; endsAt: number };

function reserveIn(usage: KeyUsage, r: Reserve): ReserveOutcome {
	const periods = periodsAt(r.now);
	const reserved = Object.values(usage.reserved).filter((x) => x.until > r.now);
	let busy = false;
	for (const b of BUDGET_FIELDS) {
		const limit = r.budgets[b.key];
		if (!limit) continue;
		const used = usedOf(periodUsage(usage, b.period, periods[b.period].key), b.unit);
		if (used >= limit) return { ok: false, busy: false, budget: b, used, endsAt: periods[b.period].endsAt };
		if (used + reserved.reduce((sum, x) => sum + x[b.unit], 0) >= limit) busy = true;
	}
	if (busy) return { ok: false, busy: true };
	usage.reserved[r.id] = { usd: r.usd, tokens: r.tokens, until: r.until };
	return { ok: true };
}

export interface Spent {
	reservationId?: string;
	label: string;
	provider: string;
	model: string;
	inputTokens: number;
	outputTokens: number;
	usd: number | null;
	estimated: boolean;
	budgets?: Budgets;
	now: number;
}

export interface BudgetWarning {
	credential: string;
	period: Period;
	unit: Unit;
	/** 50, 75, 90 or 100 (%). */
	threshold: number;
	used: number;
	limit: number;
	resetsAt: string;
	message: string;
}

/** Adds one answered request to today's and this month's usage; returns the budget warnings it crossed. */
function settleIn(usage: KeyUsage, s: Spent): { status?: BudgetStatus; warnings: BudgetWarning[] } {
	if (s.reservationId) delete usage.reserved[s.reservationId];
	Object.assign(usage, { label: s.label, provider: s.provider, budgets: s.budgets, updatedAt: s.now });
	const add: Totals = {
		requests: 1,
		inputTokens: s.inputTokens,
		outputTokens: s.outputTokens,
		costUsd: s.usd ?? 0,
		unpriced: s.usd === null ? 1 : 0,
		estimated: s.estimated ? 1 : 0,
	};
	const periods = periodsAt(s.now);
	for (const period of ['day', 'month'] as const) {
		const into = periodUsage(usage, period, periods[period].key);
		addTotals(into, add);
		addTotals((into.models[s.model] ??= emptyTotals()), add);
	}
	if (!s.budgets) return { warnings: [] };
	const status = budgetStatus(usage, s.budgets, s.now);
	const warnings: BudgetWarning[] = [];
	for (const b of BUDGET_FIELDS) {
		const gauge = status[b.period]?.[b.unit];
		if (!gauge) continue;
		const into = periodUsage(usage, b.period, periods[b.period].key);
		const given = into.warned?.[b.unit];
		// A changed limit starts its warnings afresh.
		const givenAt = given && given.limit === gauge.limit ? given.at : 0;
		const threshold = [...WARN_AT].reverse().find((t) => gauge.used * 100 >= t * gauge.limit && t > givenAt);
		if (!threshold) continue;
		(into.warned ??= {})[b.unit] = { at: threshold, limit: gauge.limit };
		const resetsAt = status[b.period]!.resetsAt;
		const spent = `${amountText(b.unit, gauge.used)} of ${amountText(b.unit, gauge.limit)}`;
		const message =
			threshold === 100
				? `The key "${s.label}" has used its whole ${PERIOD_NAME[b.period]} budget (${spent}): its requests go to the next fallback, or fail, until it resets at ${resetsAt}.`
				: `The key "${s.label}" has used ${threshold}% of its ${PERIOD_NAME[b.period]} budget (${spent}); it resets at ${resetsAt}.`;
		warnings.push({ credential: s.label, period: b.period, unit: b.unit, threshold, used: gauge.used, limit: gauge.limit, resetsAt, message });
	}
	return { status, warnings };
}

// ---------------------------------------------------------------------------------------------
// Around one HTTP call

/** What a ticket needs to know about the key; a Connection has it all. */
export interface SpendingKey {
	credentialId: string;
	label: string;
	provider: ProviderInfo;
	budgets?: Budgets;
	prices?: OwnPrices;
}

/** What one call cost, and (on a key with budgets) where its budgets stand after it. */
export interface Charge {
	cost: Cost;
	budget?: BudgetStatus & { warning?: string };
}

/** Rough token counts of a request body (chars / 4; images a fixed amount), before it is sent. */
export function estimateTokens(body: Record<string, unknown>): { input: number; output: number } {
	let chars = 0;
	let images = 0;
	const visit = (value: unknown, key?: string): void => {
		if (typeof value === 'string') {
			if (key === 'url' && value.startsWith('data:')) images++;
			else chars += value.length;
		} else if (Array.isArray(value)) value.forEach((v) => visit(v));
		else if (value && typeof value === 'object') {
			if ((value as { type?: unknown }).type === 'image_url') images++;
			else for (const [k, v] of Object.entries(value)) visit(v, k);
		}
	};
	visit(body.messages);
	visit(body.tools);
	visit(body.response_format);
	const messages = Array.isArray(body.messages) ? body.messages.length : 0;
	const maxTokens = Number(body.max_completion_tokens ?? body.max_tokens);
	return {
		input: Math.ceil(chars / 4) + 4 * messages + IMAGE_TOKENS * images,
		output: Number.isFinite(maxTokens) && maxTokens > 0 ? maxTokens : DEFAULT_OUTPUT_ESTIMATE,
	};
}

/** Wakes requests of this process waiting for a key's budget when one of its requests ends. */
const waiting = new Map<string, Set<AbortController>>();
function budgetFreed(credentialId: string): void {
	for (const waiter of waiting.get(credentialId) ?? []) waiter.abort();
}

/** Usage that could not be written (store unavailable), added with the key's next change. */
const unwritten = new Map<string, Spent[]>();

/** Runs a change with the key's unwritten usage first; what could not be written is kept for the next one. */
async function updateWithUnwritten<T>(credentialId: string, change: (usage: KeyUsage) => T, keep?: Spent): Promise<T | typeof UNAVAILABLE> {
	const earlier = unwritten.get(credentialId) ?? [];
	unwritten.delete(credentialId);
	const result = await usageStore().update(credentialId, (usage) => {
		for (const spent of earlier) settleIn(usage, { ...spent, reservationId: undefined });
		return change(usage);
	});
	if (result === UNAVAILABLE) {
		const kept = [...(unwritten.get(credentialId) ?? []), ...earlier, ...(keep ? [keep] : [])];
		// Bounded: in a long outage the oldest go (their warning was already logged).
		unwritten.set(credentialId, kept.slice(-10_000));
	}
	return result;
}

/** Usage writes of answers on keys without budgets, not yet in the store. */
const writing = new Set<Promise<unknown>>();

/**
 * Resolves when the usage of every answer so far is in the store (or kept for it, if it is down).
 * Only the writes begun by now: a busy n8n's later answers must not keep a finished node waiting.
 */
export async function usageWritten(): Promise<void> {
	await Promise.all([...writing]);
}

export interface Ticket {
	/** Records an answered call (HTTP 200): its tokens and cost. Never throws. */
	settle(answer: Pick<Answer, 'usage' | 'model' | 'text' | 'toolCalls'>): Promise<Charge>;
	/** The call was not billed (it failed before an answer): gives its reservation back. */
	release(): void;
}

let counter = 0;

/**
 * Before one call to `model` with `key`: reserves the estimate of `body` against the key's
 * budgets, waiting (up to `signal`) while requests in flight hold what is left. Throws
 * `budget_exhausted` when a budget is spent, and `invalid_credential` when the key has a USD
 * budget but the model's price is unknown (its spend could not be counted).
 */
export async function admit(key: SpendingKey, model: string, body: Record<string, unknown>, options: { signal?: AbortSignal; timeoutMs: number; onWarning?: (warning: BudgetWarning) => void }): Promise<Ticket> {
	const estimate = estimateTokens(body);
	const budgets = key.budgets;
	const ticket = (reservationId?: string): Ticket => ({
		settle: (answer) => settle(key, model, estimate, reservationId, answer, options.onWarning),
		release: () => {
			if (!reservationId) return;
			void updateWithUnwritten(key.credentialId, (usage) => {
				delete usage.reserved[reservationId];
			}).finally(() => budgetFreed(key.credentialId));
		},
	});
	if (!budgets) return ticket();

	let usd = 0;
	if (budgets.dayUsd || budgets.monthUsd) {
		const cost = costOf(key.provider, key.prices, [model], { promptTokens: estimate.input, completionTokens: estimate.output });
		if (cost.usd === null) throw new LlmError('invalid_credential', `The key "${key.label}" has a budget in USD, but what "${model}" costs is not known, so its spend cannot be counted. ${cost.reason ?? ''}`.trim());
		usd = cost.usd;
	}
	const id = `${Date.now().toString(36)}-${(++counter).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
	for (;;) {
		const now = usageClock.now();
		const outcome = await updateWithUnwritten(key.credentialId, (usage) =>
			reserveIn(usage, { id, usd, tokens: estimate.input + estimate.output, until: now + options.timeoutMs + 60_000, budgets, now }),
		);
		if (outcome === UNAVAILABLE) {
			if (usageStore().failClosed) {
				throw new LlmError('limits_unavailable', `Redis, which holds the budgets of the key "${key.label}", is unreachable, and BYOK_REDIS_ON_ERROR=fail forbids sending without them.`);
			}
			return ticket();
		}
		if (outcome.ok) return ticket(id);
		if (!outcome.busy) {
			const { budget, used, endsAt } = outcome;
			throw new LlmError(
				'budget_exhausted',
				`The key "${key.label}" reached its ${PERIOD_NAME[budget.period]} budget of ${amountText(budget.unit, budgets[budget.key]!)} (${amountText(budget.unit, used)} used); it resets at ${new Date(endsAt).toISOString()}.`,
			);
		}
		// What is left is held by requests in flight: wait until one of them ends.
		const wake = new AbortController();
		const waiters = waiting.get(key.credentialId) ?? new Set();
		waiting.set(key.credentialId, waiters.add(wake));
		try {
			await sleep(WAIT_POLL_MS, options.signal ? AbortSignal.any([options.signal, wake.signal]) : wake.signal).catch((err: unknown) => {
				if (options.signal?.aborted) throw err;
			});
		} finally {
			waiters.delete(wake);
			if (!waiters.size) waiting.delete(key.credentialId);
		}
	}
}

async function settle(
	key: SpendingKey,
	model: string,
	estimate: { input: number; output: number },
	reservationId: string | undefined,
	answer: Pick<Answer, 'usage' | 'model' | 'text' | 'toolCalls'>,
	onWarning?: (warning: BudgetWarning) => void,
): Promise<Charge> {
	let usage = answer.usage;
	const estimated = usage.promptTokens === undefined && usage.completionTokens === undefined;
	if (estimated) {
		const said = answer.text.length + (answer.toolCalls ? JSON.stringify(answer.toolCalls).length : 0);
		usage = { promptTokens: estimate.input, completionTokens: Math.ceil(said / 4) };
	}
	const priced = costOf(key.provider, key.prices, [answer.model, model], usage);
	const cost: Cost = estimated ? { ...priced, estimated: true } : priced;
	const spent: Spent = {
		reservationId,
		label: key.label,
		provider: key.provider.id,
		model: answer.model || model,
		inputTokens: usage.promptTokens ?? 0,
		outputTokens: usage.completionTokens ?? 0,
		usd: cost.usd,
		estimated,
		budgets: key.budgets,
		now: usageClock.now(),
	};
	const write = updateWithUnwritten(key.credentialId, (usage) => settleIn(usage, spent), spent)
		// Bookkeeping must never fail an answer that was billed (a failure here could send it again).
		.catch((): typeof UNAVAILABLE => UNAVAILABLE)
		.finally(() => budgetFreed(key.credentialId));
	// Without a budget the answer needs nothing from the store: it is written while the item goes
	// on (a file write costs about 2 ms, more than the rest of the call path), and the node waits
	// for all of its items' writes once, at its end (usageWritten).
	if (!key.budgets) {
		writing.add(write);
		void write.finally(() => writing.delete(write));
		return { cost };
	}
	const result = await write;
	if (result === UNAVAILABLE || !result.status) return { cost };
	for (const warning of result.warnings) onWarning?.(warning);
	const warning = result.warnings.at(-1)?.message;
	return { cost, budget: { ...result.status, ...(warning ? { warning } : {}) } };
}
