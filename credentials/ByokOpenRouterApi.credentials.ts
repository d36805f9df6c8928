import { ProviderCredential } from './ProviderCredential';

export class ByokOpenRouterApi extends ProviderCredential {
	constructor() {
		super('openrouter');
	}
}
