import { ProviderCredential } from '../nodes/shared/ProviderCredential';

export class ByokOpenRouterApi extends ProviderCredential {
	constructor() {
		super('openrouter');
	}
}
