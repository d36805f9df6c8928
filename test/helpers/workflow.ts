/**
 * Runs real workflow JSON through n8n-core's WorkflowExecute in-process, with the package's real
 * node and credential classes (recipe in shared/REAL-N8N.md). Credentials are plain data by id.
 */
import { ExecutionLifecycleHooks, LoadOptionsContext, WorkflowExecute } from 'n8n-core';
import {
	ICredentialsHelper,
	NodeConnectionTypes,
	NodeHelpers,
	Workflow,
	type ICredentialDataDecryptedObject,
	type ICredentials,
	type IExecuteFunctions,
	type IHttpRequestOptions,
	type INodeCredentialsDetails,
	type INodeExecutionData,
	type INodeParameters,
	type INodeType,
	type INodeTypeDescription,
	type INodeTypes,
	type IVersionedNodeType,
	type IRun,
	type IWorkflowBase,
	type IWorkflowExecuteAdditionalData,
	type WorkflowParameters,
} from 'n8n-workflow';
import { ByokAutoRouter } from '../../nodes/ByokAutoRouter/ByokAutoRouter.node';
import { ByokChat } from '../../nodes/ByokChat/ByokChat.node';
import { ByokUsage } from '../../nodes/ByokUsage/ByokUsage.node';
import { ByokChatModel } from '../../nodes/ByokChatModel/ByokChatModel.node';

/** A start node that emits the items in its `items` parameter (json and optional binary). */
class TestItems implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Test Items',
		name: 'testItems',
		group: ['trigger'],
		version: 1,
		description: 'Emits fixed items',
		defaults: { name: 'Items' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		properties: [{ displayName: 'Items', name: 'items', type: 'json', default: '[]' }],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const raw = this.getNodeParameter('items', 0) as unknown;
		const items = (typeof raw === 'string' ? JSON.parse(raw) : raw) as INodeExecutionData[];
		return [items.map((item) => ({ json: item.json ?? {}, binary: item.binary }))];
	}
}

/** What a test does with the chat model a ModelUser node gets, by the name in its `use` parameter. */
export const modelUses = new Map<string, (model: unknown, ctx: IExecuteFunctions) => Promise<Record<string, unknown>>>();

/**
 * A root node taking a chat model, as n8n's AI Agent and chains do (one required ai_languageModel
 * input): it hands the model n8n supplied (n8n's adapter around ours) to the test's function.
 */
class ModelUser implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Model User',
		name: 'modelUser',
		group: ['transform'],
		version: 1,
		description: 'Uses a chat model like an agent',
		defaults: { name: 'Model User' },
		inputs: [NodeConnectionTypes.Main, { type: NodeConnectionTypes.AiLanguageModel, required: true, maxConnections: 1 }],
		outputs: [NodeConnectionTypes.Main],
		properties: [{ displayName: 'Use', name: 'use', type: 'string', default: '' }],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const use = modelUses.get(this.getNodeParameter('use', 0) as string);
		if (!use) throw new Error('unknown use');
		const model = await this.getInputConnectionData(NodeConnectionTypes.AiLanguageModel, 0);
		return [[{ json: (await use(model, this)) as INodeExecutionData['json'] }]];
	}
}

/** Some other chat model sub-node (not BYOK), for the "fallback must be BYOK" check. */
class OtherModel implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Other Model',
		name: 'otherModel',
		group: ['transform'],
		version: 1,
		description: 'Not a BYOK model',
		defaults: { name: 'Other Model' },
		inputs: [],
		outputs: [NodeConnectionTypes.AiLanguageModel],
		properties: [],
	};

	async supplyData() {
		return { response: { lc_namespace: ['langchain', 'chat_models'], invoke: async () => 'other' } };
	}
}

const types: Record<string, INodeType | IVersionedNodeType> = {
	'n8n-nodes-byok.byokChat': new ByokChat(),
	'n8n-nodes-byok.byokAutoRouter': new ByokAutoRouter(),
	'n8n-nodes-byok.byokUsage': new ByokUsage(),
	'n8n-nodes-byok.byokChatModel': new ByokChatModel(),
	'test.items': new TestItems(),
	'test.modelUser': new ModelUser(),
	'test.otherModel': new OtherModel(),
};

const nodeTypes: INodeTypes = {
	getByName: (type) => types[type],
	getByNameAndVersion: (type, version) => NodeHelpers.getVersionedNodeType(types[type], version),
	getKnownTypes: () => ({}),
} as INodeTypes;

class TestCredentialsHelper extends ICredentialsHelper {
	constructor(private readonly byId: Record<string, ICredentialDataDecryptedObject>) {
		super();
	}
	getParentTypes(): string[] {
		return [];
	}
	isCredentialUsableByNode(): boolean {
		return true;
	}
	async authenticate(_c: ICredentialDataDecryptedObject, _t: string, options: IHttpRequestOptions): Promise<IHttpRequestOptions> {
		return options;
	}
	async preAuthentication() {
		return undefined;
	}
	async runPreAuthentication() {
		return undefined;
	}
	async getCredentials(): Promise<ICredentials> {
		throw new Error('not used');
	}
	async getDecrypted(_a: IWorkflowExecuteAdditionalData, details: INodeCredentialsDetails): Promise<ICredentialDataDecryptedObject> {
		const data = details.id ? this.byId[details.id] : undefined;
		if (!data) throw new Error(`Test credential ${details.id} not found`);
		return { ...data };
	}
	async updateCredentials() {}
	async updateCredentialsOauthTokenData() {}
	getCredentialsProperties() {
		return [];
	}
}

export interface TestWorkflow {
	nodes: WorkflowParameters['nodes'];
	connections: WorkflowParameters['connections'];
}

let executionCounter = 0;

function additionalDataFor(credentials: Record<string, ICredentialDataDecryptedObject>, executionId: string, hooks?: ExecutionLifecycleHooks) {
	return {
		executionId,
		hooks,
		variables: {},
		credentialsHelper: new TestCredentialsHelper(credentials),
		restApiUrl: 'http://localhost:5678/rest',
		instanceBaseUrl: 'http://localhost:5678/',
		webhookBaseUrl: 'http://localhost:5678/webhook',
		webhookWaitingBaseUrl: 'http://localhost:5678/webhook-waiting',
		webhookTestBaseUrl: 'http://localhost:5678/webhook-test',
		formWaitingBaseUrl: 'http://localhost:5678/form-waiting',
		userId: 'test-user',
	} as unknown as IWorkflowExecuteAdditionalData;
}

function toWorkflow(workflowJson: TestWorkflow): Workflow {
	return new Workflow({ id: 'test', nodes: workflowJson.nodes, connections: workflowJson.connections, active: false, nodeTypes });
}

/** What n8n's streaming API sends (a Webhook or Chat Trigger set to stream turns it on). */
export interface StreamedChunk {
	type: string;
	content?: string;
	metadata: { nodeName: string; itemIndex: number };
}

/**
 * Runs a workflow to the end and returns n8n's run data. With `onChunk`, the run streams as a
 * streaming Webhook's would: nodes see isStreaming() and their sendChunk calls arrive here.
 */
export async function runWorkflow(
	workflowJson: TestWorkflow,
	credentials: Record<string, ICredentialDataDecryptedObject>,
	{ onChunk }: { onChunk?: (chunk: StreamedChunk) => void } = {},
): Promise<IRun> {
	const workflow = toWorkflow(workflowJson);
	const executionId = String(++executionCounter);
	const workflowData = { id: 'test', name: 'test', nodes: workflowJson.nodes, connections: workflowJson.connections, active: false } as unknown as IWorkflowBase;
	const hooks = new ExecutionLifecycleHooks('manual', executionId, workflowData);
	const finished = new Promise<IRun>((resolve) => hooks.addHandler('workflowExecuteAfter', (run) => resolve(run)));
	const additionalData = additionalDataFor(credentials, executionId, hooks);
	if (onChunk) {
		hooks.addHandler('sendChunk', (chunk) => onChunk(chunk as unknown as StreamedChunk));
		(additionalData as { streamingEnabled?: boolean }).streamingEnabled = true;
	}
	const execution = new WorkflowExecute(additionalData, 'manual');
	await execution.run({ workflow, startNode: workflow.getNode(workflowJson.nodes[0].name) ?? undefined });
	return await finished;
}

/** The context n8n gives a node's list-search and load-options methods (as the editor calls them). */
export function loadOptionsContext(workflowJson: TestWorkflow, credentials: Record<string, ICredentialDataDecryptedObject>, nodeName = 'BYOK Chat') {
	const workflow = toWorkflow(workflowJson);
	const node = workflow.getNode(nodeName);
	if (!node) throw new Error(`No node ${nodeName}`);
	return new LoadOptionsContext(workflow, node, additionalDataFor(credentials, 'load-options'), 'parameters.model');
}

export interface ChatWorkflowOptions {
	items?: Array<{ json: Record<string, unknown>; binary?: Record<string, unknown> }>;
	parameters: INodeParameters;
	credentialType?: string;
	credentialId?: string;
	/** Several credentials (type -> id), for fallbacks on other providers. */
	nodeCredentials?: Record<string, string>;
	continueOnFail?: boolean;
	nodeName?: string;
	/** Defaults to BYOK Chat. */
	nodeType?: string;
	/** Defaults to 1. */
	typeVersion?: number;
	/** Chains of model sub-nodes on the node's model inputs, by input index; each chain head first. */
	models?: Array<ModelNode[] | undefined>;
}

/** A model sub-node (BYOK Chat Model unless `type` says otherwise) on one credential. */
export interface ModelNode {
	name: string;
	model?: string;
	provider?: string;
	credentialId?: string;
	credentialType?: string;
	options?: INodeParameters;
	type?: string;
	disabled?: boolean;
}

/** A two-node workflow: Items -> BYOK Chat, plus any model sub-nodes on its model inputs. */
export function chatWorkflow(options: ChatWorkflowOptions): TestWorkflow {
	const credentialType = options.credentialType ?? 'byokCustomApi';
	const workflow: TestWorkflow = {
		nodes: [
			{
				id: 'items',
				name: 'Items',
				type: 'test.items',
				typeVersion: 1,
				position: [0, 0],
				parameters: { items: JSON.stringify(options.items ?? [{ json: {} }]) },
			},
			{
				id: 'chat',
				name: options.nodeName ?? 'BYOK Chat',
				type: options.nodeType ?? 'n8n-nodes-byok.byokChat',
				typeVersion: options.typeVersion ?? 1,
				position: [200, 0],
				parameters: options.parameters,
				credentials: Object.fromEntries(
					Object.entries(options.nodeCredentials ?? { [credentialType]: options.credentialId ?? 'cred-1' }).map(([type, id]) => [type, { id, name: `Test ${id}` }]),
				),
				...(options.continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
			},
		],
		connections: { Items: { main: [[{ node: options.nodeName ?? 'BYOK Chat', type: NodeConnectionTypes.Main, index: 0 }]] } },
	};
	(options.models ?? []).forEach((chain, input) =>
		chain?.forEach((m, n) => {
			workflow.nodes.push({
				id: `model-${m.name}`,
				name: m.name,
				type: m.type ?? 'n8n-nodes-byok.byokChatModel',
				typeVersion: 1,
				position: [200 + 200 * n, 200 + 100 * input],
				parameters: { provider: m.provider ?? 'custom', model: { __rl: true, mode: 'id', value: m.model ?? '' }, options: m.options ?? {} },
				credentials: { [m.credentialType ?? 'byokCustomApi']: { id: m.credentialId ?? m.name, name: m.credentialId ?? m.name } },
				...(m.disabled ? { disabled: true } : {}),
			});
			const target = n === 0 ? { node: options.nodeName ?? 'BYOK Chat', index: input } : { node: chain[n - 1].name, index: 0 };
			workflow.connections[m.name] = { ai_languageModel: [[{ ...target, type: NodeConnectionTypes.AiLanguageModel }]] };
		}),
	);
	return workflow;
}

/** Every main output of a node (one array per output). */
export function nodeOutputs(run: IRun, nodeName: string): INodeExecutionData[][] {
	return run.data.resultData.runData[nodeName]?.[0]?.data?.main?.map((items) => items ?? []) ?? [];
}

/** The main output items of a node, or the run's error. */
export function nodeOutput(run: IRun, nodeName = 'BYOK Chat'): { items: INodeExecutionData[]; error?: Error & Record<string, unknown> } {
	const task = run.data.resultData.runData[nodeName]?.[0];
	const error = (task?.error ?? run.data.resultData.error) as (Error & Record<string, unknown>) | undefined;
	return { items: task?.data?.main?.[0] ?? [], error };
}
