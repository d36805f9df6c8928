import { ProviderCredential } from './ProviderCredential';

export class ByokOllamaCloudApi extends ProviderCredential {
	constructor() {
		super('ollamaCloud');
	}
}
