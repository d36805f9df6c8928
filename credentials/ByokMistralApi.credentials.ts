import { ProviderCredential } from './ProviderCredential';

export class ByokMistralApi extends ProviderCredential {
	constructor() {
		super('mistral');
	}
}
