import { ProviderCredential } from './ProviderCredential';

export class ByokAnthropicApi extends ProviderCredential {
	constructor() {
		super('anthropic');
	}
}
