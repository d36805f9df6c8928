import { ProviderCredential } from './ProviderCredential';

export class ByokTogetherApi extends ProviderCredential {
	constructor() {
		super('together');
	}
}
