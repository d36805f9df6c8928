/**
 * The Auto-Router's local classifier: the rules that are certain (images, length, small talk), the
 * trained text model on requests it was not trained on (each family of issue 12, several
 * languages), the conversation rules, readable reasons, determinism and the labelled sets.
 * Timing is not asserted here: `npm run eval:router` prints it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CATEGORIES, type Category } from '../nodes/llm/catalog';
import { classifyByRules, DEFAULT_LONG_CONTEXT_TOKENS } from '../nodes/llm/classifier';
import { extractFeatures, GROUP_CONCEPTS } from '../nodes/llm/classifier-features';
import { modelInfo, scoreText } from '../nodes/llm/classifier-model';
import type { ChatMessage } from '../nodes/llm/request';
import { asksLlm, DEFAULT_HYBRID_THRESHOLD } from '../nodes/llm/router';

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

interface Labelled {
	id: string;
	expected: Category;
	hard?: boolean;
	messages: ChatMessage[];
	repeat?: { text: string; times: number; message?: number };
}
const readSet = (name: string): Labelled[] =>
	readFileSync(join(__dirname, 'fixtures', name), 'utf8')
		.split('\n')
		.filter((line) => line.trim())
		.map((line) => JSON.parse(line) as Labelled);
const training = readSet('router-train.jsonl');
const trainingTexts = new Set(training.flatMap((r) => r.messages.map((m) => (typeof m.content === 'string' ? m.content.trim() : ''))));

/** The eval tool's `repeat` field: text appended N times to a message (default: the last user message). */
function expand(record: Labelled): ChatMessage[] {
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

const PARAGRAPH =
	'The quarterly review covered revenue, hiring, the product roadmap and customer churn, and the team agreed on three priorities for the next quarter. ';
/** About `tokens` tokens of English prose at four characters a token. */
const prose = (tokens: number) => PARAGRAPH.repeat(Math.ceil((tokens * 4) / PARAGRAPH.length)).slice(0, tokens * 4);

/** Requests written for these tests, none of them in the training data (checked below). */
const UNSEEN: Array<[string, string, Category]> = [
	// The failure families of issue 12.
	['logic without keywords', 'Can a 6 by 6 floor be covered completely with 1 by 4 planks?', 'reasoning'],
	['logic without keywords', 'Of two sisters one always lies and one never does. The first says "my sister would tell you I am the liar." Which one is the liar?', 'reasoning'],
	['logic without keywords', 'I have 4 bags of flour and one is 50 g too light. With a kitchen scale used twice, how do I find it?', 'reasoning'],
	['logic without keywords', 'Three doctors share weekend duty for a quarter: nobody two weekends in a row, and Kim is away in the second month. Give me a plan that works.', 'reasoning'],
	['logic without keywords', 'Should I sell my car for 9,000 and use buses at 60 a month, or keep it at about 250 a month in costs? Explain over five years.', 'reasoning'],
	['logic without keywords', 'Our bakery sold 180, 210, 195, 240 and 260 croissants on the last five Saturdays. How many should we bake next Saturday, and why?', 'reasoning'],
	['logic without keywords', 'Un club tiene 2.400 € para material: los balones deben costar el doble que las redes y las camisetas como mucho 900 €. ¿Cómo lo repartimos?', 'reasoning'],
	['writing about technical things', 'Write a short tweet thread celebrating that our open-source library reached 10,000 GitHub stars.', 'balanced'],
	['writing about technical things', 'Write a changelog for release 4.2: faster PDF export, fixed the login loop on Safari, removed the legacy v1 endpoints.', 'balanced'],
	['writing about technical things', 'Write an email to the finance team and include this record so they can check it: {"invoice": "F-118", "amount": 2300, "due": "2024-07-01"}', 'balanced'],
	['writing about technical things', 'Draft a status update for management: the MySQL cluster upgrade finished on Sunday, one replica is still catching up, no customer impact.', 'balanced'],
	['look-ups and labels', 'Which language is this: "Kiitos, hyvää päivää"?', 'fast'],
	['look-ups and labels', 'Spam or not spam: "Your parcel is waiting, pay the 1.99 customs fee at this link"', 'fast'],
	['look-ups and labels', 'Which is longer, the Danube or the Rhine?', 'fast'],
	['look-ups and labels', 'What city is in this record? {"id": 7, "name": "Oskar", "city": "Gdańsk"}', 'fast'],
	['look-ups and labels', 'What industry is the company "Vestas" in?', 'fast'],
	['infrastructure without code words', 'Write Terraform for a Google Cloud Storage bucket that deletes objects after 30 days.', 'code'],
	['infrastructure without code words', 'Write an Apps Script that sends me a reminder email the day before each date in column B.', 'code'],
	['infrastructure without code words', 'Give me a one-liner that shows which IP addresses hit my server most often in today\'s log.', 'code'],
	['summaries with numbers', 'Summarize this for the newsletter: membership rose from 1,150 to 1,420 (+23%), we held 36 events, and the budget closed 4,000 under plan.', 'balanced'],
	// The four text categories in other languages.
	['de', 'Wer hat die Glühbirne erfunden?', 'fast'],
	['de', 'Schreib eine freundliche Erinnerung an meine Nachbarn wegen der Mülltonnen.', 'balanced'],
	['de', 'Wie viele Möglichkeiten gibt es, 4 Personen auf 4 Stühle zu setzen?', 'reasoning'],
	['de', 'Schreibe eine JavaScript-Funktion, die Duplikate aus einem Array entfernt.', 'code'],
	['fr', 'Traduis en italien : "Bonne chance pour demain !"', 'fast'],
	['fr', 'Écris un message pour souhaiter la bienvenue à un nouveau collègue.', 'balanced'],
	['fr', 'Démontre que le produit de deux nombres impairs est impair.', 'reasoning'],
	['es', '¿Cómo se dice "mariposa" en alemán?', 'fast'],
	['es', 'Escribe una consulta SQL que devuelva los clientes sin pedidos este año.', 'code'],
	['pt', 'Escreva uma mensagem de agradecimento para os voluntários da festa junina.', 'balanced'],
	['ja', 'このSQLクエリを高速化する方法を教えてください。', 'code'],
	['ja', '袋に赤玉4個と白玉6個があります。2個取り出すとき、両方赤の確率は？', 'reasoning'],
];

describe('certain rules', () => {
	test('exports the six category ids', () => {
		expect([...CATEGORIES]).toEqual(['fast', 'balanced', 'reasoning', 'long_context', 'vision', 'code']);
		expect(DEFAULT_LONG_CONTEXT_TOKENS).toBe(8000);
	});

	test('an image part anywhere is vision, whatever the text', () => {
		expect(category([withImage('Write a Python function for the diagram in this picture.')])).toBe('vision');
		expect(category([{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }])).toBe('vision');
		expect(category([withImage('What dog breed is this?'), assistant('A beagle.'), user('How often should I walk it?')])).toBe('vision');
		expect(category([withImage('この写真には何が写っていますか？')])).toBe('vision');
	});

	test('a conversation over the threshold is long_context, even for a simple task', () => {
		expect(category([user(`Say "ok" when you have read this.\n\n${prose(9000)}`)])).toBe('long_context');
		expect(category([user(`Summarize this.\n\n${prose(6000)}`)])).toBe('balanced');
		expect(category([user(`Here is the report:\n\n${prose(9000)}`), assistant('Got it.'), user('Who wrote it?')])).toBe('long_context');
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

	test('greetings and thanks are fast in any language, even under a coding persona', () => {
		const persona = system('You are a senior TypeScript engineer. Review code, explain stack traces, and always answer with code blocks.');
		for (const text of ['hello!', 'thanks, that fixed it', 'Guten Abend!', 'Merci beaucoup !', '¡Muchas gracias!', 'Obrigado!', 'おはようございます', '谢谢']) {
			const decision = classifyByRules([persona, user(text)]);
			expect([text, decision.category, decision.reason]).toEqual([text, 'fast', 'small talk (greeting or thanks)']);
		}
	});
});

describe('the text model, on requests it was not trained on', () => {
	test('none of these requests is in the training data', () => {
		for (const [, text] of UNSEEN) expect(trainingTexts.has(text)).toBe(false);
	});

	test.each(UNSEEN)('%s: %s -> %s', (_family, text, expected) => {
		expect(ask(text)).toBe(expected);
	});

	test('the instruction decides, not the pasted text: before or after it', () => {
		const article =
			'The council approved 2.1 million for 14 new playgrounds on Monday, 9 votes to 2. Work starts in April, the first 5 open in July, and the rest by the end of 2026, at about 150,000 each.';
		expect(ask(`Summarize this article in two sentences:\n\n${article}`)).toBe('balanced');
		expect(ask(`${article}\n\nHow many playgrounds will be built? Just the number.`)).toBe('fast');
		expect(ask(`${article}\n\nAt 150,000 each, is the 2.1 million enough for all of them, and how much is left or missing? Work it out.`)).toBe('reasoning');
		const code = '```python\ndef mean(xs):\n    return sum(xs) / len(xs)\n```';
		expect(ask(`Why does this fail on an empty list?\n${code}`)).toBe('code');
		expect(ask(`Write a one-line release note for customers about this fix:\n${code}`)).toBe('balanced');
	});

	test('python the snake and Java the island are not code', () => {
		expect(ask('What do pet pythons eat, and how often should I feed an adult one?')).not.toBe('code');
		expect(ask('What should I see on a week-long trip to Java and Bali? Give me some tips.')).toBe('balanced');
	});

	test('a code request with probability words is still code', () => {
		expect(ask('Write a JavaScript function that simulates 1000 coin flips and returns the probability of heads.')).toBe('code');
	});
});

describe('conversations', () => {
	const codeTurn = user('Write a Python function that flattens a nested list.');
	const codeAnswer = assistant('```python\ndef flatten(xs):\n    return [y for x in xs for y in (flatten(x) if isinstance(x, list) else [x])]\n```');

	test('the last user turn decides the task', () => {
		expect(category([codeTurn, codeAnswer, user('By the way, what is the capital of Canada?')])).toBe('fast');
		expect(category([user('What is the capital of Canada?'), assistant('Ottawa.'), user('Now write a bash script that pings ottawa.ca every minute.')])).toBe('code');
		expect(category([codeTurn, codeAnswer, user('perfect, thank you!')])).toBe('fast');
	});

	test('a short follow-up continues the task of the turn before', () => {
		const followUp = classifyByRules([codeTurn, codeAnswer, user('now make it handle tuples too')]);
		expect(followUp.category).toBe('code');
		expect(followUp.reason).toMatch(/^follow-up to an earlier code request/);
		expect(category([user('How many ways can 6 people sit around a round table?'), assistant('120.'), user('and if two of them must not sit together?')])).toBe('reasoning');
		expect(category([user('Write a thank-you email to our caterer.'), assistant('Dear Maria, ...'), user('make it shorter and warmer')])).toBe('balanced');
	});

	test('follow-ups, topic switches and task-setting system prompts in more languages', () => {
		const email = [user('Scrivi una email al fornitore per chiedere lo sconto promesso sul secondo ordine.'), assistant('Gentile signor Bruni, ...')];
		expect(category([...email, user('più breve e più cordiale')])).toBe('balanced');
		const sql = [user('Napisz zapytanie SQL, które zwraca klientów bez zamówień w tym roku.'), assistant('SELECT ...')];
		expect(category([...sql, user('a teraz posortuj ich według miasta')])).toBe('code');
		expect(category([...sql, user('swoją drogą, jak jest "pies" po hiszpańsku?')])).toBe('fast');
		const dice = [user('掷两个骰子，点数之和为7的概率是多少？'), assistant('1/6。'), user('那和为8呢？')];
		expect(category(dice)).toBe('reasoning');
		const translator = system("Traduci il messaggio dell'utente in francese. Rispondi solo con la traduzione.");
		expect(category([translator, user('Il server è di nuovo giù, controllate i log per favore.')])).toBe('fast');
	});

	test('a system prompt that describes the task decides it; a persona does not', () => {
		const translator = system('You are a translation engine. Translate the user message into German. Output only the translation.');
		expect(category([translator, user('The database migration failed again, please check the logs.')])).toBe('fast');
		const sql = { role: 'developer', content: 'Turn the request into one PostgreSQL query. Output only SQL.' } as ChatMessage;
		expect(category([sql, user('customers in Paris with more than three orders')])).toBe('code');
		expect(classifyByRules([sql, user('customers in Paris with more than three orders')]).reason).toMatch(/^task set by the system prompt; code: /);
		const persona = system('You are a senior backend engineer who reviews Go code.');
		expect(category([persona, user('Write a short farewell message for a colleague leaving after five years.')])).toBe('balanced');
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

describe('concepts carry across languages', () => {
	const concepts = (text: string) => {
		const ids = new Set<number>();
		extractFeatures(text, (id, group) => {
			if (group === GROUP_CONCEPTS) ids.add(id);
		});
		return ids;
	};
	const shared = (a: string, b: string) => [...concepts(a)].filter((id) => concepts(b).has(id)).length;

	test('the same idea in different languages shares a feature', () => {
		expect(shared('prove', 'beweise')).toBe(1);
		expect(shared('prove', 'démontre')).toBe(1);
		expect(shared('probability', '確率')).toBe(1);
		expect(shared('summarize', 'zusammenfassen')).toBe(1);
		expect(shared('terraform', 'kubernetes')).toBe(1);
		expect(shared('prove', 'summarize')).toBe(0);
	});
});

describe('loading', () => {
	test('requiring the classifier does not read the model; the first classification does', () => {
		let read = 0;
		jest.isolateModules(() => {
			jest.doMock('../nodes/llm/classifier-model.json', () => {
				read++;
				return jest.requireActual('../nodes/llm/classifier-model.json');
			});
			// eslint-disable-next-line @typescript-eslint/no-require-imports
			const fresh = require('../nodes/llm/classifier') as typeof import('../nodes/llm/classifier');
			expect(read).toBe(0);
			expect(fresh.classifyByRules([user('Write a SQL query that counts orders per day.')]).category).toBe('code');
			expect(fresh.classifyByRules([user('Thanks!')]).category).toBe('fast');
			expect(read).toBe(1);
		});
		jest.dontMock('../nodes/llm/classifier-model.json');
	});
});

describe('decisions', () => {
	test('reasons name what decided: a rule, or words of the request and facts about it', () => {
		expect(classifyByRules([withImage('hi')]).reason).toMatch(/image/);
		expect(classifyByRules([user(prose(9000))]).reason).toMatch(/tokens.*8,000/);
		const terraform = classifyByRules([user('Write Terraform for an Azure resource group with two storage accounts.')]);
		expect(terraform.reason).toMatch(/^code: /);
		expect(terraform.reason).toMatch(/"terraform"/);
		const trace = classifyByRules([user('Traceback (most recent call last):\n  File "main.py", line 3, in <module>\nKeyError: \'id\'')]);
		expect(trace.reason).toMatch(/^code: .*a stack trace or error code/);
		// Every quoted word in a model reason is a word of the request.
		for (const text of UNSEEN.map(([, t]) => t)) {
			const reason = classifyByRules([user(text)]).reason;
			for (const [, word] of reason.matchAll(/"([^"]+)"/g)) expect(text.toLowerCase().replace(/[1-9]/g, '0')).toContain(word);
		}
	});

	test('confidence is higher for clear cases than for requests with little signal', () => {
		const clear = classifyByRules([user('Write a Python function that merges two sorted lists.')]).confidence;
		const vague = classifyByRules([user('Tell me something about the weather patterns around here lately, whatever you know about it.')]).confidence;
		expect(clear).toBeGreaterThan(0.9);
		expect(clear).toBeGreaterThan(vague);
	});

	test('hybrid mode asks the LLM exactly when the local confidence is under the threshold, never for images or length', () => {
		const unsure = { category: 'balanced' as const, confidence: DEFAULT_HYBRID_THRESHOLD - 0.01, reason: '' };
		const sure = { ...unsure, confidence: DEFAULT_HYBRID_THRESHOLD };
		expect(asksLlm('hybrid', unsure, DEFAULT_HYBRID_THRESHOLD)).toBe(true);
		expect(asksLlm('hybrid', sure, DEFAULT_HYBRID_THRESHOLD)).toBe(false);
		expect(asksLlm('hybrid', { ...unsure, category: 'vision' }, DEFAULT_HYBRID_THRESHOLD)).toBe(false);
		expect(asksLlm('llm', { ...sure, category: 'long_context' }, DEFAULT_HYBRID_THRESHOLD)).toBe(false);
		expect(asksLlm('llm', sure, DEFAULT_HYBRID_THRESHOLD)).toBe(true);
		expect(asksLlm('rules', unsure, DEFAULT_HYBRID_THRESHOLD)).toBe(false);
	});

	test('is deterministic and does not modify its input', () => {
		const eval471 = readSet('router-eval.jsonl');
		for (const record of eval471.slice(0, 60)) {
			const messages = expand(record);
			const copy = JSON.parse(JSON.stringify(messages));
			const first = classifyByRules(messages);
			for (let i = 0; i < 3; i++) expect(classifyByRules(messages)).toEqual(first);
			expect(classifyByRules(JSON.parse(JSON.stringify(messages)))).toEqual(first);
			expect(messages).toEqual(copy);
		}
		expect(scoreText('Explain the offside rule.')).toEqual(scoreText('Explain the offside rule.'));
	});

	test('odd input does not throw', () => {
		expect(classifyByRules([]).category).toBe('fast');
		expect(classifyByRules([system('You are helpful.')]).category).toBe('fast');
		expect(classifyByRules([user('')]).category).toBe('fast');
		expect(classifyByRules(undefined as unknown as ChatMessage[]).category).toBe('fast');
		expect(classifyByRules([{ role: 'user', content: [{ type: 'image', source: 'x' }] } as unknown as ChatMessage]).category).toBe('vision');
		expect(classifyByRules([{ role: 'assistant', content: null } as unknown as ChatMessage, user('hi')]).category).toBe('fast');
		for (const text of ['?', '```', '0000', '🙂🙂🙂', 'a'.repeat(5000), '日本'.repeat(3000)]) expect(CATEGORIES).toContain(ask(text));
		// A text without words names no word and no fact it does not have.
		for (const text of ['...', '{}[]();', '🙂🙂🙂']) expect(classifyByRules([user(text)]).reason).not.toMatch(/"|code block/);
	});

	test('huge texts are classified on a bounded prefix and suffix', () => {
		const big = `Review this module:\n\n\`\`\`ts\n${'export const add = (a: number, b: number) => a + b;\n'.repeat(2000)}\`\`\``;
		expect(big.length).toBeGreaterThan(100000);
		expect(category([user(big)])).toBe('long_context');
		expect(category([user(big)], { longContextTokens: 1000000 })).toBe('code');
	});
});

describe('labelled sets', () => {
	const accuracy = (set: Labelled[]) => set.filter((r) => classifyByRules(expand(r)).category === r.expected).length / set.length;

	test('the training data is well-formed, covers every category and several languages', () => {
		expect(new Set(training.map((r) => r.id)).size).toBe(training.length);
		for (const c of CATEGORIES) expect(training.filter((r) => r.expected === c).length).toBeGreaterThan(0);
		const nonLatin = training.filter((r) => r.messages.some((m) => typeof m.content === 'string' && /[\u3040-\u9fff\u0400-\u04ff]/.test(m.content)));
		expect(nonLatin.length).toBeGreaterThan(50);
		expect(modelInfo().trainedOn).toMatch(/router-train\.jsonl/);
	});

	test('the shipped model was trained on this training data (retrain after editing it: npm run train:router)', () => {
		// The trainer learns from single-message requests in the four text categories.
		const trainable = training.filter((r) => !r.repeat && r.messages.length === 1 && r.messages[0].role === 'user' && typeof r.messages[0].content === 'string' && ['fast', 'balanced', 'reasoning', 'code'].includes(r.expected));
		expect(modelInfo().trainedOn).toMatch(new RegExp(`^${trainable.length} requests from router-train\\.jsonl;`));
	});

	test('every decision has a known category, a confidence in 0..1 and a reason', () => {
		for (const record of readSet('router-eval.jsonl')) {
			const decision = classifyByRules(expand(record));
			expect(CATEGORIES).toContain(decision.category);
			expect(decision.confidence).toBeGreaterThanOrEqual(0);
			expect(decision.confidence).toBeLessThanOrEqual(1);
			expect(decision.reason.trim().length).toBeGreaterThan(0);
		}
	});

	// Floors, not targets: they fail when a change to the features, the lexicon or the model file
	// (or a model not retrained after a feature change) breaks what the model learned.
	test('accuracy on the earlier labelled set (not trained on) stays above 94%', () => {
		expect(accuracy(readSet('router-eval.jsonl'))).toBeGreaterThan(0.94);
	});

	test('accuracy on the training data stays above 97%', () => {
		expect(accuracy(training)).toBeGreaterThan(0.97);
	});
});
