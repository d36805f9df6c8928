import { ProviderCredential } from '../nodes/shared/ProviderCredential';

export class ByokDeepSeekApi extends ProviderCredential {
	constructor() {
		super('deepseek');
	}
}
