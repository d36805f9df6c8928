import { ProviderCredential } from '../nodes/shared/ProviderCredential';

export class ByokCustomApi extends ProviderCredential {
	constructor() {
		super('custom');
	}
}
