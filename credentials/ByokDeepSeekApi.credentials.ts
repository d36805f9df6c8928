import { ProviderCredential } from './ProviderCredential';

export class ByokDeepSeekApi extends ProviderCredential {
	constructor() {
		super('deepseek');
	}
}
