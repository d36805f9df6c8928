import { ProviderCredential } from './ProviderCredential';

export class ByokCustomApi extends ProviderCredential {
	constructor() {
		super('custom');
	}
}
