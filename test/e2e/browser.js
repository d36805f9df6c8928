'use strict';
/**
 * Browser e2e: the path a user takes in n8n's editor, in Debian's chromium driven by playwright-core.
 *
 *   npm run test:e2e            (run.js calls browserPhase() after its own checks)
 *   node test/e2e/browser.js    (alone: builds nothing, packs dist/ as it is)
 *
 * Log in; node creator, search "BYOK", add BYOK Chat and the Auto-Router (version 2, the default);
 * in BYOK Chat's one credential picker create a Custom credential (provider chosen in the dialog,
 * key + the fake provider's URL), see its Test succeed, then a wrong key and the provider's own
 * error; pick a model from the live list; execute the workflow and read the output panel. Then a
 * BYOK Chat Model on BYOK Chat's Fallback Model input answers when the primary is down, and the
 * output says so; the Auto-Router's Mode goes back and forth without touching its six branch
 * connections (and asks for a credential only in Route and Complete); last, BYOK Chat Model under
 * an AI Agent. The browser may only reach 127.0.0.1; nothing is downloaded (no `playwright
 * install`: the browser is /usr/bin/chromium, installed with apt-get when missing and root).
 *
 * Screenshots of every step go to BYOK_E2E_SCREENSHOTS (default: <tmp>/byok-e2e-screenshots).
 * BYOK_E2E_UPDATE_DOCS=1 also copies the chosen ones to docs/ (canvas, credential-test, ...).
 * Selectors were read off n8n 2.41.1's DOM; see shared/REAL-N8N.md.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ROOT, provisionN8n, makeScratch, packPackage, installPackage, startN8n, freePort, reporter, seconds } = require('./run.js');

const CHROMIUM = process.env.BYOK_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const SHOTS = process.env.BYOK_E2E_SCREENSHOTS || path.join(os.tmpdir(), 'byok-e2e-screenshots');
/** Screenshot (by step name) -> committed file under docs/. */
const DOCS = {
	'canvas-executed': 'canvas.png',
	'credential-test': 'credential-test.png',
	'credential-error': 'credential-error.png',
	'model-list': 'model-list.png',
	output: 'output.png',
	'chat-model-credential-list': 'chat-model-credential.png',
	'chat-model-chain': 'chat-model-chain.png',
	'chat-fallback-canvas': 'chat-fallback.png',
	'chat-fallback-output': 'chat-fallback-output.png',
	'router-route': 'router-route.png',
	'chat-model-route-fields': 'chat-model-route.png',
};
const OWNER = { email: 'owner@byok-browser.test', firstName: 'Browser', lastName: 'Owner', password: 'ByokBrowser-Passw0rd' };
const GOOD_KEY = 'sk-browser-good-7d1e4a';
const BAD_KEY = 'sk-browser-bad-93b6c2';
const PROVIDER_ERROR = 'Incorrect API key provided';
const PROMPT = 'hello from the browser';
/** A second credential, of another provider, made through n8n's REST API (as the editor does). */
const GROQ = { name: 'Groq (team key)', type: 'byokGroqApi' };
const CATEGORIES = ['Fast', 'Balanced', 'Reasoning', 'Long Context', 'Vision', 'Code'];
const STEP_TIMEOUT_MS = 20_000;

/** Debian's chromium; installed here only when root with apt-get (apt-get update only if the install fails without it). */
function ensureChromium() {
	if (fs.existsSync(CHROMIUM)) return;
	const apt = (args) => spawnSync('apt-get', args, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 });
	if (process.getuid?.() !== 0 || apt(['--version']).status !== 0) {
		throw new Error(`${CHROMIUM} is missing. Install Debian's chromium (sudo apt-get install -y chromium); this test never downloads a browser.`);
	}
	console.log('# chromium missing: apt-get install -y chromium');
	let result = apt(['install', '-y', 'chromium']);
	if (result.status !== 0) {
		apt(['update']);
		result = apt(['install', '-y', 'chromium']);
	}
	if (result.status !== 0 || !fs.existsSync(CHROMIUM)) throw new Error(`apt-get install -y chromium failed:\n${(result.stdout + result.stderr).slice(-2000)}`);
}

/** Only our key opens the fake provider; any other gets OpenAI's own invalid-key error. */
function acceptOnlyGoodKey(record) {
	if (record.headers.authorization === `Bearer ${GOOD_KEY}`) return undefined;
	return { status: 401, body: { error: { message: `${PROVIDER_ERROR}: sk-brow...b6c2.`, type: 'invalid_request_error', code: 'invalid_api_key' } } };
}

/**
 * The editor steps. Each is one check with a screenshot; after a failed step the rest are
 * skipped (each builds on the one before) and the failure's screenshot shows where it stopped.
 */
async function editorSteps(page, { url, fake, t, shot }) {
	const steps = [];
	const step = (name, title, fn) => steps.push({ name, title, fn });
	const ndv = page.locator('[data-test-id=ndv]');
	const modal = page.locator('[data-test-id=editCredential-modal]');
	const canvasNode = (name) => page.locator(`[data-test-id=canvas-node][data-node-name="${name}"]`);
	const creatorItems = page.locator('[data-test-id=node-creator-node-item]');
	/** The node creator's item with exactly this name ("BYOK Chat" is also the start of "BYOK Chat Model"). */
	const creatorItem = (name) => creatorItems.filter({ has: page.locator('[data-test-id=node-creator-item-name]').getByText(name, { exact: true }) });

	/** Node creator (already open or via the canvas "+"), search, pick, confirm the community-node panel. */
	async function addNode(displayName, open) {
		await page.click(open);
		await page.fill('input[data-test-id=node-creator-search-bar]', 'BYOK');
		await creatorItem(displayName).click();
		await page.getByRole('button', { name: 'Add to workflow' }).click();
		await ndv.waitFor();
	}
	async function closeNdv() {
		await page.click('[data-test-id=ndv-close-button]');
		await ndv.waitFor({ state: 'hidden' });
	}
	/**
	 * Saving runs the credential test; returns n8n's verdict {status, message}. A new credential's
	 * modal may close on success: it is opened again so the banner can be seen.
	 */
	async function saveCredential() {
		const tested = page.waitForResponse((r) => r.url().endsWith('/rest/credentials/test') && r.request().method() === 'POST');
		await modal.locator('[data-test-id=credential-save-button]').click();
		const verdict = (await (await tested).json()).data;
		if (verdict.status === 'OK') {
			const success = modal.locator('[data-test-id=credentials-config-container-test-success]');
			await Promise.race([success.waitFor(), modal.waitFor({ state: 'hidden' })]);
			if (!(await modal.isVisible())) {
				await page.click('[data-test-id=credential-edit-button]');
				await modal.waitFor();
			}
			await success.waitFor();
		} else {
			await modal.getByText(/Couldn.t connect with these settings/).waitFor();
		}
		return verdict;
	}
	const modelRequests = () => fake.requests.filter((r) => r.method === 'GET' && r.path === '/v1/models');

	step('login', 'log in on the sign-in page', async () => {
		await page.goto(`${url}/signin`);
		await page.fill('#emailOrLdapLoginId', OWNER.email);
		await page.fill('#password', OWNER.password);
		await page.click('[data-test-id=form-submit-button]');
		await page.waitForURL((u) => !u.pathname.startsWith('/signin'));
		await page.goto(`${url}/workflow/new`);
		await page.waitForSelector('[data-test-id=canvas-add-button]');
	});

	/** n8n's REST API from the page (its session cookie and browser id). */
	async function rest(method, route, body) {
		return await page.evaluate(
			async ({ method, route, body }) => {
				const res = await fetch(`/rest${route}`, {
					method,
					headers: { 'content-type': 'application/json', 'browser-id': localStorage.getItem('n8n-browserId') ?? '' },
					body: body === undefined ? undefined : JSON.stringify(body),
				});
				return { status: res.status, data: (await res.json().catch(() => ({}))).data };
			},
			{ method, route, body },
		);
	}
	/** A BYOK credential of the node open in the NDV: the picker lists every BYOK credential, its provider beside its name. */
	const credentialItems = () => page.locator('[data-test-id^=node-credentials-select-item-]:not([data-test-id$=-new])');
	async function pickOption(parameter, name) {
		await ndv.locator(`[data-test-id=parameter-input-${parameter}]`).click();
		await page.getByRole('option', { name }).click();
	}

	step('search', 'node creator: "BYOK" finds BYOK Chat and BYOK Auto-Router', async () => {
		await page.click('[data-test-id=canvas-add-button]');
		await page.fill('input[data-test-id=node-creator-search-bar]', 'BYOK');
		await creatorItems.filter({ hasText: 'BYOK Auto-Router' }).waitFor();
		const names = await creatorItems.locator('[data-test-id=node-creator-item-name]').allInnerTexts();
		for (const name of ['BYOK Chat', 'BYOK Auto-Router']) if (!names.includes(name)) throw new Error(`"${name}" not among ${JSON.stringify(names)}`);
	});

	step('canvas', 'BYOK Chat and the Auto-Router added (n8n adds the Manual Trigger)', async () => {
		await page.keyboard.press('Escape');
		await page.locator('[data-test-id=node-creator]').waitFor({ state: 'hidden' });
		await addNode('BYOK Chat', '[data-test-id=canvas-add-button]');
		await closeNdv();
		await addNode('BYOK Auto-Router', '[data-test-id=node-creator-plus-button]');
		await closeNdv();
		for (const name of ['BYOK Chat', 'Auto-Router']) await canvasNode(name).waitFor();
		if ((await page.locator('[data-test-id=canvas-trigger-node]').count()) !== 1) throw new Error('no Manual Trigger on the canvas');
		// n8n chained the Auto-Router after BYOK Chat. Unlink it so that only BYOK Chat runs below (the
		// Auto-Router's default Route and Complete would need a provider credential of its own).
		const edge = page.locator('[data-test-id=edge][data-source-node-name="BYOK Chat"][data-target-node-name="Auto-Router"]');
		const box = await edge.locator('path').first().boundingBox();
		await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
		await page.click('[data-test-id=delete-connection-button]');
		await edge.waitFor({ state: 'detached' });
		await page.mouse.move(5, 450);
		await page.click('[data-test-id=zoom-to-fit]');
	});

	step('credential-test', 'BYOK Chat: one credential picker, no Provider field; new credential, Custom chosen in the dialog (key + base URL): Test succeeds', async () => {
		await canvasNode('BYOK Chat').dblclick();
		await ndv.waitFor();
		for (const field of ['provider', 'providers', 'fallbacks']) {
			if (await ndv.locator(`[data-test-id=parameter-input-${field}]`).count()) throw new Error(`BYOK Chat shows a "${field}" field`);
		}
		// With no credential yet n8n offers "Connect to <first provider>"; the dialog then has a provider selector.
		await ndv.locator('[data-test-id=node-credentials-empty-state] button').click();
		await modal.waitFor();
		await modal.locator('[data-test-id=credential-mode-dropdown-trigger]').click();
		await page.getByRole('menuitem', { name: 'Custom (OpenAI-compatible)' }).click();
		await modal.getByText('BYOK Custom (OpenAI-compatible) API').first().waitFor();
		// "0 = no limit" under each limit field.
		if ((await modal.getByText('0 = no limit').count()) !== 3) throw new Error('the limit fields do not say "0 = no limit"');
		await modal.locator('[data-test-id=parameter-input-baseUrl] input').fill(fake.baseUrl);
		await modal.locator('[data-test-id=parameter-input-apiKey] input').fill(GOOD_KEY);
		const verdict = await saveCredential();
		if (verdict.status !== 'OK') throw new Error(`credential test: ${JSON.stringify(verdict)}`);
		const success = modal.locator('[data-test-id=credentials-config-container-test-success]');
		// The banner's Retry is the Test button: press it and expect one more GET /models, with the key.
		const before = modelRequests().length;
		await modal.locator('button[title="Retry credential test"]').click();
		await waitUntil(() => modelRequests().length > before, 'the Test button did not call GET /v1/models');
		// The test has answered when the button is idle again (and its spinner has faded out).
		await modal.locator('button[title="Retry credential test"]:not([aria-busy]):not(:has(.n8n-spinner))').waitFor();
		await success.waitFor();
		const last = modelRequests().at(-1);
		if (last.headers.authorization !== `Bearer ${GOOD_KEY}`) throw new Error(`GET /v1/models without the key: ${last.headers.authorization}`);
	});

	step('credential-error', "wrong key: the Test shows the provider's own error", async () => {
		await modal.locator('[data-test-id=parameter-input-apiKey] input').fill(BAD_KEY);
		const verdict = await saveCredential();
		if (verdict.status !== 'Error') throw new Error(`credential test with a wrong key: ${JSON.stringify(verdict)}`);
		await modal.getByText('More details').click();
		await modal.getByText(PROVIDER_ERROR).waitFor();
		if ((await modal.innerText()).includes(BAD_KEY)) throw new Error('the modal shows the key itself');
	});

	step('credential-fixed', 'good key again: Test succeeds, credential saved', async () => {
		await modal.locator('[data-test-id=parameter-input-apiKey] input').fill(GOOD_KEY);
		const verdict = await saveCredential();
		if (verdict.status !== 'OK') throw new Error(`credential test: ${JSON.stringify(verdict)}`);
		await modal.locator('button[aria-label="Close this dialog"]').click();
		await modal.waitFor({ state: 'hidden' });
	});

	step('model-list', 'model list comes live from the provider (fake-large, fake-small, fake-vision)', async () => {
		await page.click('[data-test-id=resource-locator-model] [data-test-id=rlc-input]');
		const items = page.locator('[data-test-id=rlc-item]');
		await items.first().waitFor();
		const models = (await items.allInnerTexts()).map((s) => s.trim()).sort();
		if (models.join() !== 'fake-large,fake-small,fake-vision') throw new Error(`models listed: ${JSON.stringify(models)}`);
	});

	step('output', 'execute the workflow: the output panel shows the answer', async () => {
		await page.locator('[data-test-id=rlc-item]').filter({ hasText: 'fake-small' }).click();
		await page.locator('[data-test-id=parameter-input-prompt] textarea').fill(PROMPT);
		await closeNdv();
		fake.reset();
		fake.setHandler(acceptOnlyGoodKey);
		await page.click('[data-test-id=execute-workflow-button]');
		await canvasNode('BYOK Chat').locator('[data-test-id=canvas-node-status-success]').waitFor();
		await shot('canvas-executed');
		await canvasNode('BYOK Chat').dblclick();
		const output = page.locator('[data-test-id=output-panel]');
		await output.getByText(`echo: ${PROMPT}`).waitFor();
		await output.locator('[data-test-id=radio-button-json]').click();
		await output.getByText(`"echo: ${PROMPT}"`).waitFor();
		await output.getByText('"BYOK Custom (OpenAI-compatible) account · fake-small"').waitFor();
		const chats = fake.chatRequests;
		if (chats.length !== 1 || chats[0].body?.model !== 'fake-small') throw new Error(`chat requests: ${JSON.stringify(chats.map((r) => r.body))}`);
		await closeNdv();
	});

	// The Auto-Router's branch workflow (made through REST), its six connections, its saved state.
	let routerWorkflow;
	async function branchesConnected(when) {
		const missing = [];
		for (const name of CATEGORIES) {
			if ((await page.locator(`[data-test-id=edge][data-source-node-name="Auto-Router"][data-target-node-name="${name}"]`).count()) !== 1) missing.push(name);
		}
		if (missing.length) throw new Error(`${when}: the Auto-Router's connections to ${missing.join(', ')} are gone`);
	}
	async function noCredentialAsked(when) {
		for (const id of ['node-credentials-select', 'node-credentials-empty-state']) await ndv.locator(`[data-test-id=${id}]`).waitFor({ state: 'detached' });
		if (await ndv.getByText('Credential', { exact: true }).count()) throw new Error(`${when}: the form asks for a credential`);
	}
	/** Waits for n8n's autosave to store `mode`; the saved connections must still reach all six branches. */
	async function savedWith(mode) {
		let saved;
		await waitUntil(async () => {
			saved = (await rest('GET', `/workflows/${routerWorkflow}`)).data;
			return (saved.nodes.find((n) => n.name === 'Auto-Router').parameters.mode ?? 'route') === mode;
		}, `the workflow was not saved with Mode ${mode}`);
		const targets = (saved.connections['Auto-Router']?.main ?? []).map((output) => output?.map((c) => c.node).join('+'));
		if (targets.join() !== CATEGORIES.join()) throw new Error(`saved with Mode ${mode}, the outputs lead to ${JSON.stringify(targets)}`);
	}

	// Fallbacks the new way: a BYOK Chat Model on BYOK Chat's Fallback Model input.
	const inputPlus = (nodeName) => page.locator(`[data-test-id=canvas-node-input-handle][data-connection-type=ai_languageModel][data-node-name="${nodeName}"] [data-test-id=canvas-handle-plus]`);
	/** From the node creator (open, searched "BYOK"): the community node's panel, then its NDV. */
	async function pickChatModel() {
		await creatorItem('BYOK Chat Model').click();
		const add = page.getByRole('button', { name: 'Add to workflow' });
		await add.or(ndv).first().waitFor();
		if (await add.isVisible()) await add.click();
		await ndv.waitFor();
	}
	/** Picks a model from the sub-node's live list and closes its NDV. */
	async function pickModel(model) {
		await page.click('[data-test-id=resource-locator-model] [data-test-id=rlc-input]');
		await page.locator('[data-test-id=rlc-item]').filter({ hasText: model }).click();
		await closeNdv();
	}

	step('chat-fallback', 'BYOK Chat + a BYOK Chat Model on its Fallback Model input (the newest credential, Groq, picked; model from its list)', async () => {
		const { status } = await rest('POST', '/credentials', { ...GROQ, data: { apiKey: GOOD_KEY, baseUrl: `${fake.url}/groq/v1` } });
		if (status !== 200) throw new Error(`creating a Groq credential: HTTP ${status}`);
		// The Auto-Router has been seen on the canvas; it has its own workflow below.
		await canvasNode('Auto-Router').click();
		await page.keyboard.press('Delete');
		await canvasNode('Auto-Router').waitFor({ state: 'detached' });
		await inputPlus('BYOK Chat').click();
		await creatorItems.first().waitFor();
		const names = await creatorItems.locator('[data-test-id=node-creator-item-name]').allInnerTexts();
		if (names.join() !== 'BYOK Chat Model') throw new Error(`the Fallback Model input offers ${JSON.stringify(names)}`);
		await pickChatModel();
		await ndv.locator('[data-test-id=node-credentials-select]').click();
		await credentialItems().filter({ hasText: 'BYOK Groq API' }).filter({ hasText: GROQ.name }).waitFor();
		await credentialItems().filter({ hasText: 'BYOK Custom (OpenAI-compatible) API' }).waitFor();
		await credentialItems().filter({ hasText: GROQ.name }).click();
		await pickModel('fake-large');
		await page.click('[data-test-id=zoom-to-fit]');
		const edge = page.locator('[data-test-id=edge][data-source-node-name="BYOK Chat Model"][data-target-node-name="BYOK Chat"]');
		if ((await edge.count()) !== 1) throw new Error('no connection from BYOK Chat Model to BYOK Chat');
	});

	step('chat-fallback-output', 'primary down (503): the fallback answers; the output says "answeredBy": "Groq (team key) · fake-large", fallbackUsed', async () => {
		fake.reset();
		fake.setHandler((record) => acceptOnlyGoodKey(record) ?? (record.path.startsWith('/groq/') ? undefined : { status: 503, body: { error: { message: 'overloaded' } } }));
		await page.click('[data-test-id=execute-workflow-button]');
		await canvasNode('BYOK Chat').locator('[data-test-id=canvas-node-status-success]').waitFor();
		await shot('chat-fallback-canvas');
		await canvasNode('BYOK Chat').dblclick();
		const output = page.locator('[data-test-id=output-panel]');
		await output.locator('[data-test-id=radio-button-json]').click();
		await output.getByText(`"${GROQ.name} · fake-large"`).waitFor();
		await output.getByText('"fallbackUsed": true').waitFor();
		await output.getByText('"server error (HTTP 503), no retries left, moved on to the next model"').waitFor();
		const paths = fake.chatRequests.map((r) => `${r.path} ${r.body?.model}`);
		fake.setHandler(acceptOnlyGoodKey);
		if (paths.join() !== '/v1/chat/completions fake-small,/v1/chat/completions fake-small,/groq/v1/chat/completions fake-large') throw new Error(`chat requests: ${paths}`);
	});

	step('router-route', 'Auto-Router (six branches connected): Mode to Route and Complete asks for a credential; category defaults shown; the six connections stay', async () => {
		await closeNdv();
		const cases = CATEGORIES.map((name, k) => ({ id: `b0000000-0000-4000-8000-00000000001${k}`, name, type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [700, k * 140], parameters: {} }));
		const router = { id: 'b0000000-0000-4000-8000-000000000002', name: 'Auto-Router', type: 'n8n-nodes-byok.byokAutoRouter', typeVersion: 2, position: [300, 350], parameters: { mode: 'classify', outputs: 'perCategory', prompt: '={{ $json.text }}' } };
		const start = { id: 'b0000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 350], parameters: {} };
		const connections = { Start: { main: [[{ node: 'Auto-Router', type: 'main', index: 0 }]] }, 'Auto-Router': { main: CATEGORIES.map((name) => [{ node: name, type: 'main', index: 0 }]) } };
		const created = await rest('POST', '/workflows', { name: 'Router branches', nodes: [start, router, ...cases], connections, settings: { executionOrder: 'v1' }, active: false });
		if (created.status !== 200) throw new Error(`creating the workflow: HTTP ${created.status}`);
		routerWorkflow = created.data.id;
		await page.goto(`${url}/workflow/${routerWorkflow}`);
		await canvasNode('Auto-Router').waitFor();
		await branchesConnected('opened');
		if ((await page.locator('[data-test-id=canvas-node-input-handle][data-connection-type=ai_languageModel][data-node-name="Auto-Router"]').count()) !== 6) throw new Error('the Auto-Router has no six category inputs');
		await canvasNode('Auto-Router').dblclick();
		await ndv.waitFor();
		await noCredentialAsked('Classify Only with the rules');
		await pickOption('mode', /^Route and Complete/);
		// n8n picks the newest BYOK credential (Groq); the form then lists Groq's defaults for empty categories.
		await ndv.locator('[data-test-id=node-credentials-select]').waitFor();
		await ndv.getByText("Categories left empty use Groq's defaults: Fast llama-3.1-8b-instant").waitFor();
		// An empty category's list starts with its default (the fake's Groq does not list it).
		await ndv.locator('[data-test-id=resource-locator-fastModel] [data-test-id=rlc-input]').click();
		await page.locator('[data-test-id=rlc-item]').first().getByText("llama-3.1-8b-instant (default; not in this server's list)").waitFor();
		await savedWith('route');
		await branchesConnected('in Route and Complete');
	});

	step('router-classify', 'Mode back to Classify Only: no credential asked, the six branch connections are all still there (also as saved)', async () => {
		await page.keyboard.press('Escape');
		await pickOption('mode', /^Classify Only/);
		await noCredentialAsked('Classify Only with the rules, after Route and Complete');
		await savedWith('classify');
		await closeNdv();
		await branchesConnected('back in Classify Only');
	});

	// BYOK Chat Model under an AI Agent, with a fallback, the way a user sets it up.
	step('chat-model-credential', 'AI Agent + BYOK Chat Model: one credential picker lists every BYOK credential with its provider; picking one sets it', async () => {
		await page.goto(`${url}/workflow/new`);
		await page.click('[data-test-id=canvas-add-button]');
		await page.fill('input[data-test-id=node-creator-search-bar]', 'AI Agent');
		await creatorItem('AI Agent').click();
		await ndv.waitFor();
		await closeNdv();
		await inputPlus('AI Agent').click();
		await page.fill('input[data-test-id=node-creator-search-bar]', 'BYOK');
		await pickChatModel();
		// The list names each credential's provider; the newest (Groq) is picked; picking Custom switches the provider.
		await ndv.locator('[data-test-id=node-credentials-select]').click();
		const items = credentialItems();
		await items.filter({ hasText: 'BYOK Groq API' }).waitFor();
		await items.filter({ hasText: 'BYOK Custom (OpenAI-compatible) API' }).waitFor();
		if (await ndv.locator('[data-test-id=parameter-input-provider]').isVisible()) throw new Error('Provider is shown as a field besides the credential picker');
		await shot('chat-model-credential-list');
		await items.filter({ hasText: 'BYOK Custom (OpenAI-compatible) API' }).click();
		const before = modelRequests().length;
		await pickModel('fake-small');
		if (modelRequests().length <= before) throw new Error('the model list did not come from the Custom credential (GET /v1/models)');
	});

	step('chat-model-fallback', "the sub-node's Fallback Model input offers only BYOK Chat Model", async () => {
		await inputPlus('BYOK Chat Model').click();
		await creatorItems.first().waitFor();
		const names = await creatorItems.locator('[data-test-id=node-creator-item-name]').allInnerTexts();
		if (names.join() !== 'BYOK Chat Model') throw new Error(`the Fallback Model input offers ${JSON.stringify(names)}`);
		await pickChatModel();
		await pickModel('fake-large');
	});

	step('chat-model-chain', 'chat with the agent: BYOK Chat Model answers; the chain is on the canvas', async () => {
		await page.click('[data-test-id=zoom-to-fit]');
		fake.reset();
		fake.setHandler(acceptOnlyGoodKey);
		await page.getByRole('button', { name: /^Chat$/ }).or(page.locator('[data-test-id=workflow-chat-button]')).first().click();
		const input = page.locator('[data-test-id=chat-input] textarea, textarea[placeholder*="message" i]').first();
		await input.fill('hello agent');
		await input.press('Enter');
		await page.getByText('echo: hello agent').first().waitFor();
		const chats = fake.chatRequests;
		if (chats.length !== 1 || chats[0].body?.model !== 'fake-small') throw new Error(`chat requests: ${JSON.stringify(chats.map((r) => r.body?.model))}`);
	});

	step('chat-model-route', 'Route by Category on the sub-node: the six category fields appear; a coding question goes to the Code model picked from the list', async () => {
		await canvasNode('BYOK Chat Model').dblclick();
		await ndv.waitFor();
		await ndv.locator('[data-test-id=parameter-input-routeByCategory]').click();
		for (const name of ['fastModel', 'balancedModel', 'reasoningModel', 'longContextModel', 'visionModel', 'codeModel']) {
			await ndv.locator(`[data-test-id=resource-locator-${name}]`).waitFor();
		}
		await ndv.locator('[data-test-id=resource-locator-codeModel] [data-test-id=rlc-input]').click();
		await page.locator('[data-test-id=rlc-item]').filter({ hasText: 'fake-vision' }).click();
		await shot('chat-model-route-fields');
		await closeNdv();
		fake.reset();
		fake.setHandler(acceptOnlyGoodKey);
		const input = page.locator('[data-test-id=chat-input] textarea, textarea[placeholder*="message" i]').first();
		await input.fill('Write a Python function that merges two sorted lists, with type hints and unit tests.');
		await input.press('Enter');
		await waitUntil(() => fake.chatRequests.length > 0, 'the agent sent no model call');
		await page.getByText('echo: Write a Python function').first().waitFor();
		const models = fake.chatRequests.map((r) => r.body?.model);
		if (models.join() !== 'fake-vision') throw new Error(`the coding question went to ${JSON.stringify(models)}, not the Code model (fake-vision)`);
	});

	for (const [i, { name, title, fn }] of steps.entries()) {
		const started = Date.now();
		try {
			await fn();
			await shot(name);
			t.check(`browser: ${title} (${seconds(Date.now() - started)})`, true);
		} catch (err) {
			const file = await shot(`${name}-FAILED`).catch(() => '(no screenshot)');
			await fs.promises.writeFile(file.replace(/\.png$/, '.html'), await page.content()).catch(() => {});
			const toasts = await page.locator('.el-notification').allTextContents().catch(() => []);
			const detail = [err.message.split('\n').slice(0, 6).join('\n'), ...toasts.map((text) => `toast: ${text.trim()}`), `screenshot: ${file}`];
			t.check(`browser: ${title}`, false, detail.join('\n'));
			for (const rest of steps.slice(i + 1)) t.check(`browser: ${rest.title}`, false, 'skipped: an earlier step failed');
			return false;
		}
	}
	return true;
}

/** Polls `predicate` (sync or async) until it holds. */
async function waitUntil(predicate, message, timeoutMs = STEP_TIMEOUT_MS) {
	const deadline = Date.now() + timeoutMs;
	while (!(await predicate())) {
		if (Date.now() > deadline) throw new Error(message);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

/**
 * Starts n8n on its own user folder (fresh database: no credentials to pick by accident) with the
 * packed package, creates the owner, and runs the editor steps. Adds checks to `t`; returns ms.
 */
async function browserPhase({ n8n, scratch, tarball, fake, t, timings = {} }) {
	const started = Date.now();
	const userFolder = path.join(scratch.dir, 'browser-home');
	fs.mkdirSync(userFolder, { recursive: true });
	await installPackage(userFolder, tarball);
	ensureChromium();
	const { chromium } = require('playwright-core');

	fs.mkdirSync(SHOTS, { recursive: true });
	for (const old of fs.readdirSync(SHOTS)) if (/^\d\d-.+\.(png|html)$/.test(old)) fs.rmSync(path.join(SHOTS, old));
	console.log(`# browser screenshots in ${SHOTS}`);

	// The editor's chat posts to n8n's webhook URL, which says "localhost" unless told otherwise.
	const port = await freePort();
	const server = await startN8n(n8n, userFolder, { port, env: { WEBHOOK_URL: `http://127.0.0.1:${port}/` }, logFile: path.join(scratch.dir, 'n8n-browser.log') });
	let context;
	try {
		const res = await fetch(`${server.url}/rest/owner/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(OWNER) });
		if (!res.ok) throw new Error(`owner setup: HTTP ${res.status} ${await res.text()}`);
		fake.reset();
		fake.setHandler(acceptOnlyGoodKey);

		const profile = fs.mkdtempSync(path.join(scratch.dir, 'chromium-profile-'));
		context = await chromium.launchPersistentContext(profile, {
			executablePath: CHROMIUM,
			headless: true,
			args: CHROMIUM_ARGS,
			viewport: { width: 1440, height: 900 },
		});
		// Everything stays on this machine: any request off 127.0.0.1 is refused and reported.
		const blocked = [];
		await context.route(
			(u) => u.hostname !== '127.0.0.1' && u.protocol !== 'data:' && u.protocol !== 'blob:',
			(route) => {
				blocked.push(route.request().url());
				return route.abort();
			},
		);
		const page = context.pages()[0] ?? (await context.newPage());
		page.setDefaultTimeout(STEP_TIMEOUT_MS);
		// Toasts ("Credential saved", ...) would cover the screenshots; they stay in the DOM for failure reports.
		await page.addInitScript(() => {
			document.addEventListener('DOMContentLoaded', () => {
				const style = document.createElement('style');
				style.textContent = '.el-notification { display: none !important; }';
				document.head.append(style);
			});
		});
		let n = 0;
		const shot = async (name) => {
			const file = path.join(SHOTS, `${String(++n).padStart(2, '0')}-${name}.png`);
			await page.screenshot({ path: file });
			return file;
		};

		const stepsStarted = Date.now();
		const passed = await editorSteps(page, { url: server.url, fake, t, shot });
		timings.browserSteps = Date.now() - stepsStarted;
		// n8n's node details panel asks the npm registry about a community package; refused like the rest.
		const known = (u) => new URL(u).pathname === '/n8n-nodes-byok';
		const unknown = [...new Set(blocked)].filter((u) => !known(u));
		if (blocked.some(known)) console.log(`# refused n8n's npm registry look-ups: ${[...new Set(blocked.filter(known))].join(', ')}`);
		t.check('browser: no other request left 127.0.0.1', unknown.length === 0, unknown.join('\n'));
		if (passed && process.env.BYOK_E2E_UPDATE_DOCS) updateDocs();
	} finally {
		await context?.close();
		await server.stop();
	}
	timings.browser = Date.now() - started;
	console.log(`# browser e2e took ${seconds(timings.browser)} (editor steps ${seconds(timings.browserSteps ?? 0)}, n8n ready in ${seconds(server.readyMs)})`);
	return timings.browser;
}

/** Copies the chosen screenshots to docs/ under stable names. */
function updateDocs() {
	const docs = path.join(ROOT, 'docs');
	fs.mkdirSync(docs, { recursive: true });
	const files = fs.readdirSync(SHOTS);
	for (const [step, target] of Object.entries(DOCS)) {
		const source = files.find((f) => f.replace(/^\d+-/, '') === `${step}.png`);
		if (source) fs.copyFileSync(path.join(SHOTS, source), path.join(docs, target));
	}
	console.log(`# copied ${Object.values(DOCS).join(', ')} to docs/`);
}

async function main() {
	const t = reporter();
	const scratch = makeScratch('byok-browser-');
	let fake;
	try {
		const n8n = await provisionN8n();
		const tarball = await packPackage(scratch.dir);
		fake = await require('../fake-provider.js').startFakeProvider();
		await browserPhase({ n8n, scratch, tarball, fake, t });
	} catch (err) {
		t.check('browser e2e completed', false, err.stack ?? err);
	} finally {
		await fake?.close();
	}
	if (t.failed === 0 && !process.env.BYOK_E2E_KEEP) fs.rmSync(scratch.dir, { recursive: true, force: true });
	else console.log(`# kept ${scratch.dir} (n8n-browser.log)`);
	console.log(`${t.passed} passed, ${t.failed} failed`);
	process.exitCode = t.failed === 0 ? 0 : 1;
}

module.exports = { browserPhase };

if (require.main === module) main();
