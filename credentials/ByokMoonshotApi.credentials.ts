import { ProviderCredential } from '../nodes/shared/ProviderCredential';

export class ByokMoonshotApi extends ProviderCredential {
	constructor() {
		super('moonshot');
	}
}
