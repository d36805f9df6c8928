import { ProviderCredential } from './ProviderCredential';

export class ByokMoonshotApi extends ProviderCredential {
	constructor() {
		super('moonshot');
	}
}
