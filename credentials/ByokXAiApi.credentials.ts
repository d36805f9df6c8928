import { ProviderCredential } from './ProviderCredential';

export class ByokXAiApi extends ProviderCredential {
	constructor() {
		super('xai');
	}
}
