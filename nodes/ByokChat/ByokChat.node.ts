/**
 * BYOK Chat, in two versions: version 1 (Providers multi-select, Fallbacks list) keeps existing
 * workflows loading and running unchanged; version 2 (one credential picker, fallbacks as
 * connected BYOK Chat Models) is what new nodes get.
 */
import { VersionedNodeType, type INodeTypeBaseDescription } from 'n8n-workflow';
import { ByokChatV1 } from './V1/ByokChatV1.node';
import { ByokChatV2 } from './V2/ByokChatV2.node';

export class ByokChat extends VersionedNodeType {
	constructor() {
		const base: INodeTypeBaseDescription = {
			displayName: 'BYOK Chat',
			name: 'byokChat',
			icon: { light: 'file:byok.svg', dark: 'file:byok.dark.svg' },
			group: ['transform'],
			description: 'Chat with any LLM provider or OpenAI-compatible server using your own API key',
			defaultVersion: 2,
		};
		super({ 1: new ByokChatV1(base), 2: new ByokChatV2(base) }, base);
	}
}
