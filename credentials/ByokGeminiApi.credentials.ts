import { ProviderCredential } from '../nodes/shared/ProviderCredential';

export class ByokGeminiApi extends ProviderCredential {
	constructor() {
		super('gemini');
	}
}
