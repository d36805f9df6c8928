import { ProviderCredential } from './ProviderCredential';

export class ByokGroqApi extends ProviderCredential {
	constructor() {
		super('groq');
	}
}
