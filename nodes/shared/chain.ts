/**
 * Chains of BYOK Chat Model sub-nodes connected to a node's model inputs (BYOK Chat's Fallback
 * Model, the Auto-Router's category inputs, a BYOK Chat Model's own Fallback Model): each chain is
 * an ordered list of candidates, read back out of the model n8n supplies. Free of n8n's AI SDK,
 * so a node that only reads chains does not load it.
 */
import {
	NodeConnectionTypes,
	NodeOperationError,
	type IExecuteFunctions,
	type INode,
	type INodeInputConfiguration,
	type NodeInputConnections,
} from 'n8n-workflow';
import type { Candidate } from '../llm/dispatch';

/**
 * Where a BYOK model keeps its chain: a symbol on its prototype, never enumerable, never copied
 * or serialized (candidates hold keys).
 */
export const CHAIN = Symbol.for('n8n-nodes-byok.chain');

/** A BYOK Chat Model sub-node's candidates: its own, then those of its Fallback Model chain. */
export interface Chain {
	/** The sub-node at the head of the chain. */
	node: string;
	candidates: Candidate[];
}

/** A model input that takes a BYOK Chat Model (the editor offers only that node there), optional, one at most. */
export function modelInput(displayName: string): INodeInputConfiguration {
	return { type: NodeConnectionTypes.AiLanguageModel, displayName, required: false, maxConnections: 1, filter: { nodes: ['n8n-nodes-byok.byokChatModel'] } };
}

/** The chain of a BYOK model behind n8n's adapter (which keeps ours as `chatModel`), else undefined. */
export function chainOf(supplied: unknown): Chain | undefined {
	const model = (supplied as { chatModel?: unknown } | undefined)?.chatModel as { [CHAIN]?: Chain } | undefined;
	return model?.[CHAIN];
}

/** Another kind of model on one of our inputs (say, from an imported workflow). */
export function notByokModel(node: INode, input: string, itemIndex: number): NodeOperationError {
	return new NodeOperationError(node, `The model connected to "${input}" is not a BYOK Chat Model.`, {
		itemIndex,
		description: 'Connect a BYOK Chat Model there (each has its own credential and model), or remove the connection.',
	});
}

/** n8n's lists of connections into a node, by input index (`getConnections`, left out of the context's public type). */
type GetConnections = (node: INode, type: string) => NodeInputConnections;

/**
 * The candidates on each of the node's model inputs, by input; undefined where nothing is
 * connected or the sub-node is disabled. n8n hands the models of all inputs of one type over as
 * one list; which input each sits on is in the workflow's connections, which the execute context
 * has though its public type leaves them out. A node without model inputs (a node used as an AI
 * Agent's tool has none) gets an empty list.
 */
export async function connectedChains(ctx: IExecuteFunctions, itemIndex: number): Promise<Array<Candidate[] | undefined>> {
	const inputs = ctx.getNodeInputs().filter((input) => input.type === NodeConnectionTypes.AiLanguageModel);
	if (inputs.length === 0) return [];
	const supplied = await ctx.getInputConnectionData(NodeConnectionTypes.AiLanguageModel, itemIndex);
	const chains = new Map<string, Candidate[]>();
	let foreign = 0;
	for (const model of supplied === undefined ? [] : Array.isArray(supplied) ? supplied : [supplied]) {
		const chain = chainOf(model);
		if (chain) chains.set(chain.node, chain.candidates);
		else foreign++;
	}
	const node = ctx.getNode();
	const connections = (ctx as unknown as { getConnections?: GetConnections }).getConnections?.call(ctx, node, NodeConnectionTypes.AiLanguageModel);
	// Should a later n8n drop getConnections, a single input can still only hold its one chain.
	const sources: Array<string | undefined> = connections ? inputs.map((_, index) => connections[index]?.[0]?.node) : [[...chains.keys()][0]];
	if (foreign > 0) {
		// n8n leaves disabled sub-nodes out: the enabled source that gave no chain is not ours.
		const disabled = new Set(ctx.getParentNodes(node.name, { connectionType: NodeConnectionTypes.AiLanguageModel, depth: 1 }).filter((p) => p.disabled).map((p) => p.name));
		const index = Math.max(0, sources.findIndex((source) => source !== undefined && !chains.has(source) && !disabled.has(source)));
		throw notByokModel(node, inputs[index].displayName ?? 'Model', itemIndex);
	}
	return sources.map((source) => (source === undefined ? undefined : chains.get(source)));
}
