import { ProviderCredential } from './ProviderCredential';

export class ByokGeminiApi extends ProviderCredential {
	constructor() {
		super('gemini');
	}
}
