import { ProviderCredential } from '../nodes/shared/ProviderCredential';

export class ByokTogetherApi extends ProviderCredential {
	constructor() {
		super('together');
	}
}
