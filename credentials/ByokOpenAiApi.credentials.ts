import { ProviderCredential } from './ProviderCredential';

export class ByokOpenAiApi extends ProviderCredential {
	constructor() {
		super('openai');
	}
}
