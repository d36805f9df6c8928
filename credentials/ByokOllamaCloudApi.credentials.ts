import { ProviderCredential } from '../nodes/shared/ProviderCredential';

export class ByokOllamaCloudApi extends ProviderCredential {
	constructor() {
		super('ollamaCloud');
	}
}
