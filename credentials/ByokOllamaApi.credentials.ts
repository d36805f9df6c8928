import { ProviderCredential } from './ProviderCredential';

export class ByokOllamaApi extends ProviderCredential {
	constructor() {
		super('ollama');
	}
}
