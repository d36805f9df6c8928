/**
 * What one request cost, in USD. The credential's own prices win (self-hosted and custom
 * models); otherwise the price table of @pydantic/genai-prices, used offline from the data
 * bundled with the package (no network at run time), under the provider's id there (catalog.ts
 * `priceTable`). A price nobody knows is `usd: null` with the reason, never 0. Cached input and
 * reasoning tokens are priced at their own rates where the table has them and the provider
 * reports them (both are parts of the prompt and completion counts, as OpenAI reports them).
 */
import { calcPrice } from '@pydantic/genai-prices';
import type { Usage } from './answer';
import type { ProviderInfo } from './catalog';

/** A credential's own prices, USD per million tokens. Cached input is charged as input. */
export interface OwnPrices {
	inputPerMillion: number;
	outputPerMillion: number;
}

export interface Cost {
	/** USD; null when no price is known (see `reason`). */
	usd: number | null;
	source?: 'credential' | 'price table';
	/** The price table's model the request was priced as (it may match several names). */
	pricedAs?: string;
	/** The provider reported no token counts: they were estimated from the text. */
	estimated?: boolean;
	reason?: string;
}

/** USD is kept to a billionth of a dollar: enough for one token of the cheapest model, without float noise. */
export const roundUsd = (usd: number) => Math.round(usd * 1e9) / 1e9;

/**
 * Prices `usage` of `models` (the name the provider answered with first, then the one asked for)
 * at `provider`, with the credential's own prices when it has them.
 */
export function costOf(provider: ProviderInfo, own: OwnPrices | undefined, models: Array<string | undefined>, usage: Usage): Cost {
	const input = usage.promptTokens;
	const output = usage.completionTokens;
	if (input === undefined && output === undefined) return { usd: null, reason: 'The provider reported no token usage.' };
	if (own) return { usd: roundUsd(((input ?? 0) * own.inputPerMillion + (output ?? 0) * own.outputPerMillion) / 1e6), source: 'credential' };
	if (!provider.priceTable) {
		return { usd: null, reason: `${provider.name} has no public price list; set Input and Output Price on the credential to count its cost.` };
	}
	const tokens = {
		input_tokens: input ?? 0,
		cache_read_tokens: Math.min(usage.cachedTokens ?? 0, input ?? 0) || undefined,
		output_tokens: output ?? 0,
		output_reasoning_tokens: Math.min(usage.reasoningTokens ?? 0, output ?? 0) || undefined,
	};
	const prefix = provider.listedModelPrefix;
	const names = [...new Set(models.filter((m): m is string => !!m).flatMap((m) => (prefix && m.startsWith(prefix) ? [m, m.slice(prefix.length)] : [m])))];
	for (const name of names) {
		let priced: ReturnType<typeof calcPrice>;
		try {
			priced = calcPrice(tokens, name, { providerId: provider.priceTable });
		} catch (err) {
			// The table refuses counts it finds inconsistent (say, more cached tokens than input).
			return { usd: null, reason: `The price table could not price this usage: ${(err as Error).message}` };
		}
		if (priced) return { usd: roundUsd(priced.total_price), source: 'price table', pricedAs: priced.model.id };
	}
	return {
		usd: null,
		reason: `The price table has no price for ${names.map((n) => `"${n}"`).join(' or ')} at ${provider.name}; set Input and Output Price on the credential to count its cost.`,
	};
}
