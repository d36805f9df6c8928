import { ProviderCredential } from '../nodes/shared/ProviderCredential';

export class ByokAnthropicApi extends ProviderCredential {
	constructor() {
		super('anthropic');
	}
}
