/**
 * The usage report a workflow reads (the BYOK Usage node): per key, today's and this month's
 * requests, tokens in and out, cost, budgets and top models, from the usage store, plus the
 * same as plain text for a message (Slack, mail). Read-only; knows nothing of n8n.
 */
import { budgetStatus, usageWritten, type BudgetStatus } from './budgets';
import { roundUsd } from './pricing';
import { UNAVAILABLE } from './redis';
import { emptyTotals, periodsAt, usageClock, usageStore, type KeyUsage, type PeriodUsage, type Totals } from './usage-store';

export interface ModelUse {
	model: string;
	requests: number;
	inputTokens: number;
	outputTokens: number;
	costUsd: number;
}

export interface PeriodReport {
	/** A UTC date (YYYY-MM-DD) or month (YYYY-MM). */
	period: string;
	requests: number;
	inputTokens: number;
	outputTokens: number;
	/** Cost of the requests whose price is known. */
	costUsd: number;
	/** Requests whose price is not known (not in costUsd): set prices on the credential. */
	unpricedRequests: number;
	/** Requests whose tokens the provider did not report (estimated from the text). */
	estimatedRequests: number;
	/** The most expensive models first (then the most used). */
	topModels: ModelUse[];
}

export interface KeyReport {
	credential: string;
	credentialId: string;
	provider: string;
	today: PeriodReport;
	thisMonth: PeriodReport;
	yesterday?: PeriodReport;
	lastMonth?: PeriodReport;
	/** The key's budgets (as its credential had them when last used) and where they stand. */
	budgets?: BudgetStatus;
	lastUsedAt?: string;
}

export interface ReportOptions {
	topModels?: number;
	/** Adds yesterday and last month (a report sent just after midnight wants those). */
	previous?: boolean;
	/** Only keys whose credential name contains this (any case). */
	nameContains?: string;
}

function periodReport(period: string, usage: PeriodUsage | undefined, top: number): PeriodReport {
	const totals: Totals = usage ?? emptyTotals();
	const models = Object.entries(usage?.models ?? {})
		.map(([model, t]) => ({ model, requests: t.requests, inputTokens: t.inputTokens, outputTokens: t.outputTokens, costUsd: roundUsd(t.costUsd) }))
		.sort((a, b) => b.costUsd - a.costUsd || b.requests - a.requests || a.model.localeCompare(b.model));
	return {
		period,
		requests: totals.requests,
		inputTokens: totals.inputTokens,
		outputTokens: totals.outputTokens,
		costUsd: roundUsd(totals.costUsd),
		unpricedRequests: totals.unpriced,
		estimatedRequests: totals.estimated,
		topModels: models.slice(0, top),
	};
}

function keyReport(usage: KeyUsage, now: number, o: ReportOptions): KeyReport {
	const top = o.topModels ?? 5;
	const periods = periodsAt(now);
	const [yesterday, lastMonth] = [periods.day.previousKey, periods.month.previousKey];
	const report: KeyReport = {
		credential: usage.label,
		credentialId: usage.credentialId,
		provider: usage.provider,
		today: periodReport(periods.day.key, usage.days[periods.day.key], top),
		thisMonth: periodReport(periods.month.key, usage.months[periods.month.key], top),
	};
	if (o.previous) {
		report.yesterday = periodReport(yesterday, usage.days[yesterday], top);
		report.lastMonth = periodReport(lastMonth, usage.months[lastMonth], top);
	}
	if (usage.budgets && Object.keys(usage.budgets).length) report.budgets = budgetStatus(structuredClone(usage), usage.budgets, now);
	if (usage.updatedAt) report.lastUsedAt = new Date(usage.updatedAt).toISOString();
	return report;
}

/** Every key the store knows (with use this month, or last month when `previous`), the most spent first. */
export async function usageReport(o: ReportOptions = {}): Promise<KeyReport[]> {
	await usageWritten(); // this process's latest answers count too
	const all = await usageStore().readAll();
	if (all === UNAVAILABLE) throw new Error(`The usage store (${usageStore().where}) cannot be read now; see the n8n log.`);
	const now = usageClock.now();
	const needle = o.nameContains?.trim().toLowerCase();
	return all
		.filter((u) => !needle || u.label.toLowerCase().includes(needle))
		.map((u) => keyReport(u, now, o))
		.filter((r) => r.thisMonth.requests > 0 || r.today.requests > 0 || (o.previous && (r.lastMonth?.requests ?? 0) > 0))
		.sort((a, b) => b.thisMonth.costUsd - a.thisMonth.costUsd || b.thisMonth.requests - a.thisMonth.requests || a.credential.localeCompare(b.credential));
}

const money = (usd: number) => `$${usd < 1 ? usd.toFixed(4) : usd.toFixed(2)}`;
const count = (n: number) => n.toLocaleString('en-US');
const requests = (n: number) => `${count(n)} request${n === 1 ? '' : 's'}`;

function periodLine(name: string, p: PeriodReport): string {
	const notes = [
		p.unpricedRequests ? `${count(p.unpricedRequests)} without a known price` : '',
		p.estimatedRequests ? `${count(p.estimatedRequests)} with estimated tokens` : '',
	].filter(Boolean);
	return `${name}: ${requests(p.requests)}, ${count(p.inputTokens)} tokens in / ${count(p.outputTokens)} out, ${money(p.costUsd)}${notes.length ? ` (${notes.join(', ')})` : ''}`;
}

function budgetsLine(status: BudgetStatus): string {
	const parts: string[] = [];
	for (const [period, name] of [['day', 'daily'], ['month', 'monthly']] as const) {
		for (const unit of ['usd', 'tokens'] as const) {
			const gauge = status[period]?.[unit];
			if (gauge) parts.push(`${name} ${unit === 'usd' ? `${money(gauge.used)} of ${money(gauge.limit)}` : `${count(gauge.used)} of ${count(gauge.limit)} tokens`} (${gauge.percent}%)`);
		}
	}
	return `Budgets: ${parts.join(', ')}`;
}

/** The report as plain text, one block per key, for a chat message or a mail. */
export function reportText(keys: KeyReport[], now = usageClock.now()): string {
	const today = periodsAt(now).day.key;
	const sum = (pick: (k: KeyReport) => PeriodReport) => ({
		requests: keys.reduce((s, k) => s + pick(k).requests, 0),
		cost: roundUsd(keys.reduce((s, k) => s + pick(k).costUsd, 0)),
	});
	const day = sum((k) => k.today);
	const month = sum((k) => k.thisMonth);
	const lines = [`BYOK usage on ${today} (UTC). Today: ${requests(day.requests)}, ${money(day.cost)}. This month: ${requests(month.requests)}, ${money(month.cost)}.`];
	if (keys.length === 0) lines.push('No key was used this month.');
	for (const key of keys) {
		lines.push('', `${key.credential} (${key.provider})`, `  ${periodLine('Today', key.today)}`, `  ${periodLine('This month', key.thisMonth)}`);
		if (key.yesterday) lines.push(`  ${periodLine('Yesterday', key.yesterday)}`);
		if (key.lastMonth) lines.push(`  ${periodLine('Last month', key.lastMonth)}`);
		if (key.budgets) lines.push(`  ${budgetsLine(key.budgets)}`);
		const top = key.thisMonth.topModels;
		if (top.length) lines.push(`  Top models this month: ${top.map((m) => `${m.model} (${requests(m.requests)}, ${money(m.costUsd)})`).join(', ')}`);
	}
	return lines.join('\n');
}
