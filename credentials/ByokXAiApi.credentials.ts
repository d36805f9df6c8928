import { ProviderCredential } from '../nodes/shared/ProviderCredential';

export class ByokXAiApi extends ProviderCredential {
	constructor() {
		super('xai');
	}
}
