import { ProviderCredential } from '../nodes/shared/ProviderCredential';

export class ByokOpenAiApi extends ProviderCredential {
	constructor() {
		super('openai');
	}
}
