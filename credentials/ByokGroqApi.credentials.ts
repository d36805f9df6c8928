import { ProviderCredential } from '../nodes/shared/ProviderCredential';

export class ByokGroqApi extends ProviderCredential {
	constructor() {
		super('groq');
	}
}
