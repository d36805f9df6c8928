/** The Auto-Router's rules classifier: categories, hard cases, multi-turn, languages, determinism. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CATEGORIES, type Category } from '../nodes/llm/catalog';
import { classifyByRules, DEFAULT_LONG_CONTEXT_TOKENS } from '../nodes/llm/classifier';
import type { ChatMessage } from '../nodes/llm/request';

const user = (content: string): ChatMessage => ({ role: 'user', content });
const system = (content: string): ChatMessage => ({ role: 'system', content });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });
const withImage = (text: string, url = 'https://example.com/x.png'): ChatMessage => ({
	role: 'user',
	content: [
		{ type: 'text', text },
		{ type: 'image_url', image_url: { url } },
	],
});
const category = (messages: ChatMessage[], options?: { longContextTokens?: number }) => classifyByRules(messages, options).category;
const ask = (text: string) => category([user(text)]);

const PARAGRAPH =
	'The quarterly review covered revenue, hiring, the product roadmap and customer churn, and the team agreed on three priorities for the next quarter. ';
/** About `tokens` tokens of English prose at four characters a token. */
const prose = (tokens: number) => PARAGRAPH.repeat(Math.ceil((tokens * 4) / PARAGRAPH.length)).slice(0, tokens * 4);

describe('categories', () => {
	test('exports the six category ids', () => {
		expect([...CATEGORIES]).toEqual(['fast', 'balanced', 'reasoning', 'long_context', 'vision', 'code']);
		expect(DEFAULT_LONG_CONTEXT_TOKENS).toBe(8000);
	});

	test.each<[string, Category]>([
		['hey!', 'fast'],
		['What is the capital of Norway?', 'fast'],
		["Translate 'see you next week' into Italian.", 'fast'],
		['Fix the spelling: "I recieved you\'re message."', 'fast'],
		['Classify the sentiment of: "The battery dies after two hours."', 'fast'],
		['Write an email to my team announcing that the office will be closed on Friday for maintenance.', 'balanced'],
		['Explain how compound interest works, for a teenager opening a first savings account.', 'balanced'],
		['Write a product description for a bamboo toothbrush, friendly tone, about 60 words.', 'balanced'],
		['Prove that there is no largest even number.', 'reasoning'],
		['What is the probability of rolling two sixes with two dice?', 'reasoning'],
		['Solve for x: 5x - 3 = 2x + 9', 'reasoning'],
		['Three switches outside a room control one bulb inside. You may enter the room once. How do you find which switch controls the bulb? This is a logic puzzle.', 'reasoning'],
		['Write a Python function that merges two sorted lists.', 'code'],
		['Write a SQL query that returns the average order value per month.', 'code'],
		['Give me a regex for a UK postcode.', 'code'],
		['TypeError: Cannot read properties of undefined (reading "map")\n    at render (App.js:12:18)', 'code'],
		['```js\nconst x = await fetch(url);\n```\nwhy does this hang?', 'code'],
	])('%s -> %s', (text, expected) => {
		expect(ask(text)).toBe(expected);
	});

	test('an image part anywhere is vision', () => {
		expect(category([withImage('What is in this picture?')])).toBe('vision');
		expect(category([{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }])).toBe('vision');
	});

	test('a conversation over the threshold is long_context, even for a simple task', () => {
		expect(category([user(`Say "ok" when you have read this.\n\n${prose(9000)}`)])).toBe('long_context');
		expect(category([user(`Summarize this.\n\n${prose(6000)}`)])).toBe('balanced');
	});

	test('the threshold is configurable', () => {
		const messages = [user(`Summarize this.\n\n${prose(3000)}`)];
		expect(category(messages)).toBe('balanced');
		expect(category(messages, { longContextTokens: 2000 })).toBe('long_context');
		expect(category([user(`Summarize this.\n\n${prose(9000)}`)], { longContextTokens: 20000 })).toBe('balanced');
	});

	test('Japanese text counts about one token per character', () => {
		const japanese = '本規約は、当社が提供するサービスの利用条件を定めるものです。'.repeat(350); // ~10,000 characters
		expect(japanese.length / 4).toBeLessThan(DEFAULT_LONG_CONTEXT_TOKENS);
		expect(category([user(`次の文書を要約してください。\n${japanese}`)])).toBe('long_context');
	});
});

describe('hard cases', () => {
	test('a greeting under a coding system prompt is fast', () => {
		const sys = system('You are a senior TypeScript engineer. Review code, explain stack traces, and always answer with code blocks.');
		expect(category([sys, user('hello!')])).toBe('fast');
		expect(category([sys, user('thanks, that fixed it')])).toBe('fast');
	});

	test('a casual-sounding maths problem is reasoning', () => {
		expect(ask('lol ok so if I walk 4 km/h and my friend bikes 16 km/h and she leaves 30 min after me, how long until she catches up?')).toBe('reasoning');
		expect(ask('A bottle and a cork cost 1.10 together and the bottle costs 1.00 more than the cork. Think it through: what does the cork cost?')).toBe('reasoning');
	});

	test('a long email to rewrite is balanced, not long context', () => {
		const email = `Hi team,\n\n${'I wanted to follow up on the launch. The customers were confused by the new pricing page and the support inbox filled up over the weekend. '.repeat(30)}\n\nBest, Sam`;
		expect(email.length).toBeGreaterThan(3000);
		expect(ask(`Rewrite this email so it sounds calm and professional:\n\n${email}`)).toBe('balanced');
	});

	test('python the snake and Java the island are not code', () => {
		expect(ask('How big does a reticulated python get?')).not.toBe('code');
		expect(ask('What should I see on a week-long trip to Java and Bali? Give me some tips.')).toBe('balanced');
	});

	test('a code request with probability words is still code', () => {
		expect(ask('Write a JavaScript function that simulates 1000 coin flips and returns the probability of heads.')).toBe('code');
	});

	test('a phone number is not maths', () => {
		expect(ask('Extract the phone number: "Call Ana at 555-0199 after 5pm, room 12"')).toBe('fast');
	});

	test('the task comes first: a writing request that mentions a capital city is balanced', () => {
		expect(ask("Write a short invitation to our team dinner in Portugal's capital, Lisbon.")).toBe('balanced');
	});
});

describe('multi-turn', () => {
	const codeTurn = user('Write a Python function that flattens a nested list.');
	const codeAnswer = assistant('```python\ndef flatten(xs):\n    return [y for x in xs for y in (flatten(x) if isinstance(x, list) else [x])]\n```');

	test('the last user turn decides the task', () => {
		expect(category([codeTurn, codeAnswer, user('By the way, what is the capital of Canada?')])).toBe('fast');
		expect(category([user('What is the capital of Canada?'), assistant('Ottawa.'), user('Now write a bash script that pings ottawa.ca every minute.')])).toBe('code');
	});

	test('thanks after a coding answer is fast', () => {
		expect(category([codeTurn, codeAnswer, user('perfect, thank you!')])).toBe('fast');
	});

	test('a short follow-up inherits the code task of the turn before', () => {
		expect(category([codeTurn, codeAnswer, user('now make it handle tuples too')])).toBe('code');
	});

	test('an image in an earlier turn makes the whole conversation vision', () => {
		expect(category([withImage('What dog breed is this?'), assistant('A beagle.'), user('How often should I walk it?')])).toBe('vision');
	});

	test('length counts across the whole conversation', () => {
		const messages = [user(`Here is the report:\n\n${prose(9000)}`), assistant('Got it.'), user('Who wrote it?')];
		expect(category(messages)).toBe('long_context');
	});

	test('a system prompt that describes the task decides it', () => {
		const translator = system('You are a translation engine. Translate the user message into German. Output only the translation.');
		expect(category([translator, user('The meeting moved to Thursday.')])).toBe('fast');
		const sql = { role: 'developer', content: 'Turn the request into one PostgreSQL query. Output only SQL.' } as ChatMessage;
		expect(category([sql, user('customers in Paris with more than three orders')])).toBe('code');
	});

	test('tool calls and tool results are accepted', () => {
		const messages: ChatMessage[] = [
			user('What is the weather in Rome?'),
			{ role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } }] },
			{ role: 'tool', tool_call_id: 'c1', content: '{"temp": 24}' },
			user('thanks!'),
		];
		expect(category(messages)).toBe('fast');
	});
});

describe('languages', () => {
	test.each<[string, string, Category]>([
		['de', 'Guten Morgen!', 'fast'],
		['de', 'Schreib eine E-Mail an den Vermieter, dass die Heizung kaputt ist.', 'balanced'],
		['de', 'Wie groß ist die Wahrscheinlichkeit, mit zwei Würfeln eine Summe von 8 zu werfen?', 'reasoning'],
		['de', 'Schreibe eine Python-Funktion, die prüft, ob eine Zahl eine Primzahl ist.', 'code'],
		['fr', 'Merci beaucoup !', 'fast'],
		['fr', 'Explique-moi comment fonctionne une éolienne.', 'balanced'],
		['fr', 'Démontre que la racine carrée de 3 est irrationnelle.', 'reasoning'],
		['fr', 'Écris une fonction JavaScript qui inverse une chaîne.', 'code'],
		['es', '¿Cuál es la capital de Chile?', 'fast'],
		['es', 'Escribe un correo para pedir un día libre a mi jefe.', 'balanced'],
		['es', '¿Cuántas formas hay de ordenar las letras de la palabra CASA? Explica el razonamiento.', 'reasoning'],
		['es', 'Escribe una consulta SQL que cuente los pedidos por cliente.', 'code'],
		['pt', 'Olá! Tudo bem?', 'fast'],
		['pt', 'Escreva um e-mail para o cliente confirmando a reunião de amanhã.', 'balanced'],
		['pt', 'Qual é a probabilidade de sair cara três vezes seguidas?', 'reasoning'],
		['pt', 'Escreva uma função em Python que calcule o fatorial de um número.', 'code'],
		['ja', 'こんばんは', 'fast'],
		['ja', 'お客様へのお詫びのメールを書いてください。', 'balanced'],
		['ja', 'サイコロを3回振って、すべて同じ目が出る確率を求めてください。', 'reasoning'],
		['ja', 'このJavaScriptのコードのバグを直してください: ```const a = [1, 2, 3]; a.map(x => x * 2```', 'code'],
	])('%s: %s -> %s', (_lang, text, expected) => {
		expect(ask(text)).toBe(expected);
	});

	test('an image decides in any language', () => {
		expect(category([withImage('この写真には何が写っていますか？')])).toBe('vision');
		expect(category([withImage('Was ist auf dem Bild?')])).toBe('vision');
	});
});

describe('decisions', () => {
	const fixture = readFileSync(join(__dirname, 'fixtures', 'router-eval.jsonl'), 'utf8')
		.split('\n')
		.filter((line) => line.trim())
		.map((line) => JSON.parse(line) as { id: string; expected: Category; messages: ChatMessage[]; repeat?: { text: string; times: number; message?: number } });

	/** The eval tool's `repeat` field: text appended N times to a message (default: the last user message). */
	function expand(record: (typeof fixture)[number]): ChatMessage[] {
		const messages = JSON.parse(JSON.stringify(record.messages)) as ChatMessage[];
		if (!record.repeat) return messages;
		const index = record.repeat.message ?? messages.map((m) => m.role).lastIndexOf('user');
		const target = messages[index] as { content: unknown };
		const extra = record.repeat.text.repeat(record.repeat.times);
		if (typeof target.content === 'string') {
			target.content += extra;
			return messages;
		}
		const parts = target.content as Array<{ type: string; text?: string }>;
		const last = parts.map((p) => p.type).lastIndexOf('text');
		if (last >= 0) parts[last] = { ...parts[last], text: `${parts[last].text}${extra}` };
		else parts.push({ type: 'text', text: extra });
		return messages;
	}

	test('the labelled set is well-formed and large enough', () => {
		expect(fixture.length).toBeGreaterThanOrEqual(150);
		expect(new Set(fixture.map((r) => r.id)).size).toBe(fixture.length);
		for (const record of fixture) expect(CATEGORIES).toContain(record.expected);
	});

	test('every decision has a known category, a confidence in 0..1 and a reason', () => {
		for (const record of fixture) {
			const decision = classifyByRules(expand(record));
			expect(CATEGORIES).toContain(decision.category);
			expect(decision.confidence).toBeGreaterThanOrEqual(0);
			expect(decision.confidence).toBeLessThanOrEqual(1);
			expect(typeof decision.reason).toBe('string');
			expect(decision.reason.trim().length).toBeGreaterThan(0);
		}
	});

	test('is deterministic and does not modify its input', () => {
		for (const record of fixture.slice(0, 60)) {
			const messages = expand(record);
			const copy = JSON.parse(JSON.stringify(messages));
			const first = classifyByRules(messages);
			for (let i = 0; i < 3; i++) expect(classifyByRules(messages)).toEqual(first);
			expect(classifyByRules(JSON.parse(JSON.stringify(messages)))).toEqual(first);
			expect(messages).toEqual(copy);
		}
	});

	test('reasons say why', () => {
		expect(classifyByRules([withImage('hi')]).reason).toMatch(/image/);
		expect(classifyByRules([user(prose(9000))]).reason).toMatch(/tokens.*8,000/);
		expect(classifyByRules([user('hello!')]).reason).toMatch(/small talk/);
		expect(classifyByRules([user('Write a Python function that parses a date.')]).reason).toMatch(/^code: /);
	});

	test('confidence is higher for clear cases than for requests with no signal', () => {
		const clear = classifyByRules([withImage('what is this?')]).confidence;
		const vague = classifyByRules([user('Tell me something about the weather patterns around here lately, whatever you know about it.')]).confidence;
		expect(clear).toBeGreaterThan(vague);
	});

	test('odd input does not throw', () => {
		expect(classifyByRules([]).category).toBe('fast');
		expect(classifyByRules([system('You are helpful.')]).category).toBe('fast');
		expect(classifyByRules([user('')]).category).toBe('fast');
		expect(classifyByRules(undefined as unknown as ChatMessage[]).category).toBe('fast');
		expect(classifyByRules([{ role: 'user', content: [{ type: 'image', source: 'x' }] } as unknown as ChatMessage]).category).toBe('vision');
		expect(classifyByRules([{ role: 'assistant', content: null } as unknown as ChatMessage, user('hi')]).category).toBe('fast');
	});

	test('huge texts are classified (only a bounded prefix and suffix is scanned)', () => {
		const big = `Review this module:\n\n\`\`\`ts\n${'export const add = (a: number, b: number) => a + b;\n'.repeat(2000)}\`\`\``;
		expect(big.length).toBeGreaterThan(100000);
		expect(category([user(big)])).toBe('long_context');
		expect(category([user(big)], { longContextTokens: 1000000 })).toBe('code');
		expect(category([user('a'.repeat(100000))], { longContextTokens: 1000000 })).toBe('balanced');
	});
});
