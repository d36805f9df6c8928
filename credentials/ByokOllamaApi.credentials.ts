import { ProviderCredential } from '../nodes/shared/ProviderCredential';

export class ByokOllamaApi extends ProviderCredential {
	constructor() {
		super('ollama');
	}
}
