import { ProviderCredential } from '../nodes/shared/ProviderCredential';

export class ByokMistralApi extends ProviderCredential {
	constructor() {
		super('mistral');
	}
}
