/**
 * BYOK Auto-Router, in two versions: version 1 (Providers multi-select, comma-separated models per
 * category, outputs that follow Mode) keeps existing workflows loading and running unchanged;
 * version 2 (one credential picker, a model per category from the live list, category inputs for
 * BYOK Chat Models, outputs set by Outputs alone) is what new nodes get.
 */
import { VersionedNodeType, type INodeTypeBaseDescription } from 'n8n-workflow';
import { ByokAutoRouterV1 } from './V1/ByokAutoRouterV1.node';
import { ByokAutoRouterV2 } from './V2/ByokAutoRouterV2.node';

export class ByokAutoRouter extends VersionedNodeType {
	constructor() {
		const base: INodeTypeBaseDescription = {
			displayName: 'BYOK Auto-Router',
			name: 'byokAutoRouter',
			icon: { light: 'file:router.svg', dark: 'file:router.dark.svg' },
			group: ['transform'],
			subtitle: '={{$parameter["mode"] === "classify" ? "Classify only" : "Route and complete"}}',
			description: 'Classify each request (Fast, Balanced, Reasoning, Long context, Vision, Code) and send it to that category\'s models, or branch the canvas by category',
			defaultVersion: 2,
		};
		super({ 1: new ByokAutoRouterV1(base), 2: new ByokAutoRouterV2(base) }, base);
	}
}
