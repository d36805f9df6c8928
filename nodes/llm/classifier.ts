/**
 * The Auto-Router's rules classifier: local, deterministic, no network, no n8n.
 *
 * Order of decisions:
 * 1. any image part anywhere in the conversation -> vision;
 * 2. estimated tokens of the whole conversation over the threshold -> long_context
 *    (length decides even when the task is simple);
 * 3. otherwise the last user turn decides the task (code, reasoning, fast, balanced). A system
 *    prompt decides only when it describes the task itself ("translate the user's message",
 *    "output only SQL") or when the user turn carries no signal at all; a persona ("you are a
 *    senior Python developer") does not make a greeting a coding request. A short follow-up
 *    ("now make it return a list") inherits the code or reasoning task of the turn before.
 *
 * Speed: every regex is compiled once at load, has bounded repetition and no nested
 * quantifiers; a huge message is scanned only on a bounded prefix and suffix, and the length
 * check reads string lengths (it scans characters only in the narrow band where CJK text could
 * tip the estimate). Keyword lists per language are data (LANGUAGE_CUES), not code.
 */
import type { Category } from './catalog';
import type { ChatMessage } from './request';

export const DEFAULT_LONG_CONTEXT_TOKENS = 8000;

export interface RulesOptions {
	/** Estimated tokens above which a conversation is long_context. Default 8000. */
	longContextTokens?: number;
}

export interface RouterDecision {
	category: Category;
	/** 0..1: how sure the rules are. Hybrid mode asks an LLM below a threshold. */
	confidence: number;
	/** A short human-readable reason. */
	reason: string;
}

/** Keyword tables, one row per language. Entries are regex fragments matched on lowercased text. */
interface LanguageCues {
	/** A message made only of these (plus a few filler words) is small talk: fast. */
	greeting: string[];
	/** Short, simple tasks: translate, synonym, fix grammar, classify, extract, one-line facts. */
	fast: string[];
	/** Everyday writing and explanation: emails, posts, summaries, explanations, advice. */
	balanced: string[];
	/** Strong reasoning cues (weight 3): proofs, probability, puzzles, trade-offs, step by step. */
	reasoning: string[];
	/** Weak reasoning cues (weight 1): calculate, hypothetical quantities, multiples. */
	reasoningHint: string[];
	/** Programming vocabulary that means code on its own (weight 2). */
	code: string[];
	/** Vocabulary that hints at code (weight 1): function, bug, script, query. */
	codeHint: string[];
	/** Names that are code only next to other code words (python the snake, Java the island). */
	codeAmbiguous: string[];
	/** A code-writing request: a verb followed by a code object (weight 3). */
	codeTask: string[];
	/** Short follow-ups that refer back to the previous turn ("now make it ..."). */
	followUp: string[];
	/** System-prompt phrases that make the system prompt describe the task itself. */
	directive: string[];
}

type Language = 'en' | 'de' | 'fr' | 'es' | 'pt' | 'ja';

/** Gap of up to N characters inside one sentence. */
const GAP = (n: number) => `[^.?!\\n]{0,${n}}`;

export const LANGUAGE_CUES: Record<Language, LanguageCues> = {
	en: {
		greeting: [
			'hi', 'hello', 'hey', 'hiya', 'yo', 'good (?:morning|afternoon|evening|night)', 'thanks?', 'thank you', 'thx', 'ty', 'cheers',
			'bye', 'goodbye', 'see you(?: (?:later|tomorrow|soon))?', 'talk (?:to you )?(?:later|tomorrow|soon)', 'ttyl', 'good night', 'how are you', "how's it going", "what's up", 'nice to meet you',
			'perfect', 'great', 'awesome', 'cool', 'ok(?:ay)?', 'that worked', 'it works', 'got it', 'sounds good', 'much appreciated',
		],
		fast: [
			'translate', 'translation', 'synonyms?', 'antonyms?', 'fix (?:the |my )?(?:grammar|spelling|typos?)', 'correct (?:the |my )?(?:grammar|spelling)',
			'proofread', 'rephrase', 'paraphrase', 'rewrite', 'make (?:this|it) (?:sound )?(?:more )?(?:polite|formal|casual|friendly|shorter)',
			'sentiment', 'classify', 'categori[sz]e', 'label (?:this|the)', 'tag (?:this|the)', 'shorten', 'under \\d+ words', 'extract', 'pull (?:out )?the \\w+(?: \\w+)? out of', 'pull out the', 'one word', 'one-word', 'yes or no',
			'capital of', 'who (?:wrote|invented|created|founded|painted|discovered|composed|directed|is the (?:current )?(?:ceo|president|author))',
			`what does${GAP(30)}stand for`, 'what year', 'in which year', 'when (?:did|was)', 'how many \\w+ (?:in|are in) an? ', 'boiling point',
			'define', 'definition of', 'spell',
		],
		balanced: [
			`(?:write|draft|compose)${GAP(40)}(?:e-?mail|letter|post|description|story|poem|bio|caption|message|ad|announcement|speech|blog|newsletter|taglines?|slogans?|copy|reply|invitation|toast|card|note|review)`,
			'write', 'draft', 'compose', 'tone', 'press release', 'e-?mail', 'cover letter', 'summari[sz]e', 'summary', 'explain', 'describe', 'tips', 'ideas', 'itinerary', 'overview', 'outline',
			'why (?:do|does|did|is|are|was|were)`, `how does${GAP(40)}work`, `difference between', 'pros of', 'advice', 'should (?:i|we)',
			'what are (?:some|the|good|best|common|typical)', 'brainstorm', 'essay', 'story', 'birthday', 'job ad', 'product description', 'linkedin', 'instagram',
			'how often', 'history (?:of|behind)', 'story behind',
		],
		reasoning: [
			'prove', 'proof', 'show that', 'probability', 'odds', 'how many (?:different )?(?:ways|combinations|arrangements)', 'permutations?',
			'combinations', 'riddle', 'puzzle', 'brain ?teaser', 'solve for', 'equations?', 'step[- ]by[- ]step', 'show your work',
			'explain (?:your|the) reasoning', 'think (?:it )?through', 'trade-?offs?', 'weigh (?:the |up )?', 'pros and cons',
			'expected (?:value|number)', 'minimum number', 'maximum number', 'argument valid', 'valid argument', 'what comes next',
			'sequence', 'infinitely many', 'divisible', 'justify', `(?:taller|shorter|older|younger|faster|slower|heavier|lighter|richer|bigger|smaller|larger) than${GAP(60)}(?:taller|shorter|older|younger|faster|slower|heavier|lighter|richer|bigger|smaller|larger) than`, 'trick question', 'the trick', 'logic', 'deduce', 'seating arrangement', 'constraints?', 'schedule that works',
		],
		reasoningHint: [
			'calculate', 'compute', `if${GAP(80)}how (?:much|many|long|far|old)`, `how (?:much|many|long|far)${GAP(80)}\\bif`,
			`which (?:one|is|option)${GAP(40)}(?:more|better|cheaper|faster|heavier|lighter|larger|smaller|bigger)`, 'integers?', 'smallest', 'largest', 'primes?', 'sum of', 'average',
			'percent', 'interest', 'roughly how', 'worth it', 'recommend', 'must not', 'cannot', 'at least', 'at most', 'minimal',
			'optimal', 'when and where', 'billion', 'million', 'walk me through', '(?:on )?which day', 'how long (?:does|would|will) it take', 'second (?:shortest|tallest|oldest|youngest|largest|smallest)',
		],
		code: [
			'javascript', 'typescript', 'c\\+\\+', 'c#', 'golang', 'kotlin', 'php', 'sql', 'mysql', 'postgres(?:ql)?', 'sqlite', 'mongodb', 'redis',
			'regex', 'regular expression', 'bash', 'shell script', 'powershell', 'zsh', 'dockerfile', 'docker', 'kubernetes', 'kubectl',
			'helm', 'nginx', 'yaml', 'json', 'html', 'css', 'div', 'flexbox', 'react', 'vue', 'angular', 'node\\.?js', 'npm', 'pip', 'pandas',
			'numpy', 'django', 'flask', 'git', 'github', 'gitlab', 'rebase', 'merge conflict', 'commits?', 'unit tests?', 'compiler',
			'syntax error', 'stack ?trace', 'traceback', 'segfault', 'null ?pointer', 'vba', 'crontab', 'chmod', 'chown', 'sudo', 'grep',
			'ssh', 'localhost', 'time complexity', 'big[- ]o', 'linked list', 'binary search', 'hash ?map', 'recursion', 'data structure',
			'github actions', 'ci/cd', 'pull request', 'code review', 'endpoint', 'api endpoint', 'rest api', 'graphql', 'webpack', 'refactor',
			'source code', 'codebase', 'crashloopbackoff', 'pods?', 'container', 'deployment yaml', 'env var', 'dijkstra', 'algorithm',
			'cli', 'command line', 'terminal', 'repo(?:sitory)?', 'vim', 'emacs', 'tmux', 'vs ?code', 'cron', 'race condition', 'deadlock',
			'mutex', 'threads?', 'concurrency', 'goroutines?', 'async', 'await', 'promise', 'type hints?', 'interface', 'eslint', 'prettier',
			'axios', 'cors', 'pythonic', 'pytest', 'jest', 'is not a function', 'is not defined', 'undefined is not', 'cannot read propert(?:y|ies)',
		],
		codeHint: [
			'functions?', 'methods?', 'class(?:es)?', 'variables?', 'arrays?', 'loops?', 'strings?', 'bugs?', 'debug(?:ging)?', 'code', 'script',
			'program', 'compile', 'runtime', 'library', 'framework', 'database', 'query', 'queries', 'server', 'deploy', 'api', 'app',
			'crash(?:es|ing)?', 'errors?', 'exceptions?', 'fetch', 'dictionar(?:y|ies)', 'response', 'implement', 'parse', 'install', 'component', 're-?renders?', 'csv', 'files?',
			'backend', 'frontend', 'macro', 'command', 'prints?', 'returns?', 'test',
		],
		codeAmbiguous: ['python', 'java', 'ruby', 'rust', 'swift', 'go', 'shell', 'perl', 'scala', 'c', 'r', 'excel'],
		codeTask: [
			`(?:write|implement|create|build|code|fix|debug|refactor|convert|translate|port|review|optimi[sz]e|explain)${GAP(40)}\\b(?:function|program|script|method|class|query|regex|macro|component|module|endpoint|code|snippet|algorithm|workflow yaml|dockerfile)`,
		],
		followUp: ['now', 'also', 'and', 'then', 'next', 'same', 'but', 'instead', 'make it', 'do the same', 'can you (?:also|now)'],
		directive: [
			`(?:output|return|respond|reply|answer)(?: with)? only`, 'only (?:output|return|respond|reply|answer)', `answer with (?:one|a single)`,
			"the user'?s? (?:message|text|input|request)", 'one of:', 'you (?:convert|translate|classify|extract|rewrite)',
			'you are a (?:translation|classification|extraction) (?:engine|tool|model)',
		],
	},
	de: {
		greeting: ['hallo', 'hi', 'servus', 'moin', 'guten (?:morgen|tag|abend)', 'gute nacht', 'danke(?: schön| sehr)?', 'vielen dank', 'tschüss', 'wie geht(?:s| es dir| es ihnen)', 'alles klar', 'super'],
		fast: ['übersetze', 'übersetzung', 'auf (?:englisch|deutsch|französisch|spanisch)', 'synonyme?', 'korrigiere', 'rechtschreibung', 'grammatik', 'hauptstadt', 'wer (?:schrieb|erfand|gründete|ist|war)', 'in welchem jahr', 'was bedeutet', 'klassifiziere', 'formuliere', 'kürze', 'wie spät'],
		balanced: [`schreib(?:e)?${GAP(40)}(?:e-?mail|mail|brief|text|beitrag|post|nachricht|einladung|gedicht|geschichte)`, 'schreib(?:e|t)?', 'verfasse', 'ideen', 'artikel', 'e-?mail', 'erkläre?', 'erklären', 'zusammenfass', 'fasse', 'beschreibe', 'tipps', 'warum', 'wie funktioniert', 'unterschied'],
		reasoning: ['beweise', 'beweis', 'zeige, dass', 'wahrscheinlichkeit', 'wie viele (?:verschiedene )?möglichkeiten', 'rätsel', 'löse', 'gleichung', 'schritt für schritt', 'rechenweg', 'begründe', `(?:älter|jünger|größer|kleiner|schneller) als${GAP(60)}(?:älter|jünger|größer|kleiner|schneller) als`, 'vor- und nachteile', 'abwägen', 'rechne', 'durchrechnen'],
		reasoningHint: ['berechne', 'lohnt sich', `wenn${GAP(80)}wie (?:viele|viel|lange)`, `wie (?:viele|viel|lange)${GAP(80)}wenn`, 'wie lange dauert', 'umfang', 'fläche', 'summe', 'prozent', 'zinsen'],
		code: ['programmier[a-z]*', 'quellcode', 'skript', 'datenbank', 'abfrage'],
		codeHint: ['funktion', 'schleife', 'methode', 'klasse', 'variable', 'fehler', 'zeile', 'datei', 'makro', 'code', 'liste'],
		codeAmbiguous: [],
		codeTask: [`(?:schreib(?:e)?|implementiere|erstelle|korrigiere|debugge)${GAP(40)}(?:funktion|programm|skript|script|methode|klasse|abfrage|makro|code)`],
		followUp: ['jetzt', 'und', 'auch', 'dann', 'mach es'],
		directive: ['antworte nur', 'gib nur', 'nur (?:die|den|das) (?:übersetzung|antwort)', 'nachricht des (?:nutzers|benutzers)', 'übersetze die nachricht'],
	},
	fr: {
		greeting: ['bonjour', 'salut', 'bonsoir', 'coucou', 'merci(?: beaucoup)?', 'bonne (?:journée|soirée|nuit)', 'au revoir', 'ça va', 'comment ça va', 'à bientôt'],
		fast: ['tradui[st][a-zé]*', 'traduction', 'synonymes?', 'corrige', 'orthographe', 'grammaire', 'capitale', 'qui (?:a écrit|a inventé|est|était)', 'en quelle année', 'quelle est la date', 'que signifie', 'raccourcis'],
		balanced: [`(?:rédige|écris|écrire)${GAP(40)}(?:e-?mail|mail|lettre|texte|article|post|message|présentation|discours)`, 'écris', 'rédige', 'idées', 'explique', 'résume', 'résumé', 'décris', 'conseils', 'pourquoi', 'comment fonctionne', 'différences? entre', 'histoire d[eu]', 'texte de présentation'],
		reasoning: ['démontr[a-zé]*', 'prouve', 'probabilité', 'combien de (?:façons|manières|possibilités)', 'énigme', 'casse-tête', 'résou[a-z]*', 'équation', 'étape par étape', 'justifie', 'raisonnement', `plus (?:grand|petit|âgé|jeune|rapide)e?s? que${GAP(60)}plus (?:grand|petit|âgé|jeune|rapide)e?s? que`, 'avantages et inconvénients'],
		reasoningHint: ['calcule', `si${GAP(80)}combien`, `combien${GAP(80)}\\bsi`, 'combien de temps', 'ensemble', 'sans remise', 'tire', 'entiers?', 'le plus (?:petit|grand)', 'divisibles?'],
		code: ['requête sql', 'liste chaînée', 'programmation'],
		codeHint: ['fonction', 'boucle', 'dictionnaire', 'tableau', 'méthode', 'classe', 'variable', 'requête', 'erreur', 'fichier', 'code', 'script', 'dossier', 'archive'],
		codeAmbiguous: [],
		codeTask: [`(?:écris|écrire|implémente|crée|corrige)${GAP(40)}(?:fonction|programme|script|méthode|classe|requête|code)`],
		followUp: ['maintenant', 'et', 'aussi', 'ensuite', 'pareil'],
		directive: ['réponds uniquement', 'uniquement la traduction', "le message de l'utilisateur", 'seulement la'],
	},
	es: {
		greeting: ['hola', 'buenos días', 'buenas (?:tardes|noches)', 'gracias', 'muchas gracias', 'adiós', 'hasta luego', 'qué tal', 'cómo estás'],
		fast: ['traduc[a-zó]*', 'sinónimos?', 'corrige', 'ortografía', 'capital de', 'quién (?:escribió|inventó|es|fue)', 'en qué año', 'qué significa', 'clasifica', 'acorta'],
		balanced: [`(?:escribe|redacta)${GAP(40)}(?:correo|carta|texto|publicación|post|descripción|anuncio|mensaje)`, 'escribe', 'redacta', 'ideas', 'correo', 'explica[a-z]*', 'explícame', 'resume', 'resumen', 'describe', 'consejos', 'por qué', 'cómo funciona', 'diferencias? (?:hay )?entre', 'qué diferencias?', 'historia de', 'anuncio'],
		reasoning: ['demuestra', 'demostrar', 'probabilidad', 'cuántas (?:formas|maneras|combinaciones)', 'acertijo', 'adivinanza', 'rompecabezas', 'resuelve', 'ecuación', 'paso a paso', 'razonamiento', 'justifica', `más (?:alto|bajo|viejo|joven|rápido)a?s? que${GAP(60)}más (?:alto|bajo|viejo|joven|rápido)a?s? que`, 'ventajas y desventajas', 'pros y contras'],
		reasoningHint: ['calcula', `si${GAP(80)}cuánt[oa]s?`, `cuánt[oa]s?${GAP(80)}\\bsi`, 'cuánto tiempo', 'precio original', 'descuento', 'repartir'],
		code: ['expresión regular', 'programación'],
		codeHint: ['función', 'bucle', 'diccionario', 'arreglo', 'método', 'clase', 'variable', 'consulta', 'error', 'archivo', 'código', 'script'],
		codeAmbiguous: [],
		codeTask: [`(?:escribe|implementa|crea|corrige)${GAP(40)}(?:función|programa|script|método|clase|consulta|código|expresión regular)`],
		followUp: ['ahora', 'y', 'también', 'luego'],
		directive: ['responde solo', 'solo la traducción', 'el mensaje del usuario'],
	},
	pt: {
		greeting: ['olá', 'oi', 'bom dia', 'boa (?:tarde|noite)', 'obrigad[oa]', 'valeu', 'tchau', 'tudo bem', 'como vai'],
		fast: ['traduz[a-z]*', 'tradução', 'como se diz', 'sinônimos?', 'corrija', 'ortografia', 'reescreva', 'capital d[oae]', 'quem (?:escreveu|inventou|é|foi)', 'em que ano', 'qual é o maior', 'o que significa', 'classifique', 'encurte'],
		balanced: [`(?:escreva|redija)${GAP(40)}(?:e-?mail|carta|texto|post|descrição|anúncio|mensagem)`, 'escreva', 'redija', 'ideias', 'e-?mail', 'explique', 'resuma', 'resumo', 'descreva', 'dicas', 'por que', 'como funciona', 'diferenças? entre', 'história d[aeo]', 'divulgando'],
		reasoning: ['prove que', 'demonstre', 'probabilidade', 'quantas (?:formas|maneiras|combinações)', 'anagramas?', 'enigma', 'charada', 'resolva', 'equação', 'passo a passo', 'raciocínio', 'justifique', `mais (?:alto|baixo|velho|novo|rápido)a?s? (?:do )?que${GAP(60)}mais (?:alto|baixo|velho|novo|rápido)a?s? (?:do )?que`, 'prós e contras', 'vale (?:mais )?a pena'],
		reasoningHint: ['calcule', `se${GAP(80)}quant[oa]s?`, `quant[oa]s?${GAP(80)}\\bse`, 'em quanto tempo', 'juros', 'parcelas'],
		code: ['programação'],
		codeHint: ['função', 'laço', 'dicionário', 'método', 'classe', 'variável', 'consulta', 'erro', 'arquivo', 'código', 'script'],
		codeAmbiguous: [],
		codeTask: [`(?:escreva|implemente|crie|corrija)${GAP(40)}(?:função|programa|script|método|classe|consulta|código)`],
		followUp: ['agora', 'e', 'também', 'depois'],
		directive: ['responda apenas', 'apenas a tradução', 'a mensagem do usuário'],
	},
	ja: {
		greeting: ['こんにちは', 'こんばんは', 'おはよう(?:ございます)?', 'ありがとう(?:ございます)?', 'よろしく(?:お願いします)?', 'さようなら', 'お疲れ様(?:です)?', 'はじめまして'],
		fast: ['翻訳', '訳して', '英語で', '日本語で', '類義語', '首都', '誰', 'いつ', '何年'],
		balanced: ['メール', '書いて', 'アイデア', '説明', '要約', 'まとめ', '投稿', '文章', '紹介文', '考えてください', '書き直'],
		reasoning: ['証明', '確率', '何通り', 'パズル', 'なぞなぞ', '方程式', '解いて', '求めて', '求めよ', '考え方', '順に並べ', 'メリットとデメリット', 'より(?:年上|年下|高い|低い|速い|重い).{0,30}より(?:年上|年下|高い|低い|速い|重い)'],
		reasoningHint: ['倍数', '整数', '計算', 'いくつ', 'いくら', '割引', '理由'],
		code: ['コード', 'プログラミング', 'デバッグ', 'コンパイル', 'クエリ'],
		codeHint: ['関数', 'ループ', '辞書型', '配列', '変数', 'バグ', 'エラー', 'スクリプト', 'プログラム', '実装', 'テーブル'],
		codeAmbiguous: [],
		codeTask: ['(?:関数|プログラム|スクリプト|コード|クエリ)を(?:書いて|作成|直して)'],
		followUp: ['では', 'じゃあ', '次に', 'それ'],
		directive: ['のみを出力', 'だけを出力', 'ユーザーのメッセージ'],
	},
};

type CueKind = keyof LanguageCues;

/**
 * A letter or digit of the Latin scripts (the text is lowercased first). Explicit ranges rather
 * than \p{L}: Unicode property classes make V8 compile each regex for milliseconds.
 */
const WORD_CHAR = '[a-z0-9_\\u00df-\\u024f]';
const NON_WORD_CHAR = '[^a-z0-9_\\u00df-\\u024f]';

/**
 * Latin-script entries get letter boundaries; Japanese entries match anywhere. The cue itself is
 * group 1 (Latin) or 2 (Japanese): the boundary before a Latin cue is a consumed character, which
 * V8 runs about twice as fast as a lookbehind.
 */
function compileCues(kind: CueKind): RegExp {
	const latin: string[] = [];
	const cjk: string[] = [];
	for (const [lang, cues] of Object.entries(LANGUAGE_CUES) as Array<[Language, LanguageCues]>) {
		(lang === 'ja' ? cjk : latin).push(...cues[kind]);
	}
	const parts: string[] = [];
	if (latin.length) parts.push(`(?:^|${NON_WORD_CHAR})(${latin.join('|')})(?!${WORD_CHAR})`);
	if (cjk.length) parts.push(`(${cjk.join('|')})`);
	return new RegExp(parts.join('|') || '(?!)', 'g');
}

const CUE_RE = Object.fromEntries(
	(Object.keys(LANGUAGE_CUES.en) as CueKind[]).map((kind) => [kind, compileCues(kind)]),
) as Record<CueKind, RegExp>;

/** Whole-message small talk: greetings and thanks with at most a few filler words around them. */
const FILLER = new Set(
	'there all again everyone so very much you a lot guys folks team friend my dear again :) bom tudo bien muy mucho beaucoup vielen lieben und and for that help the it worked works now'.split(' '),
);

/** Language-independent code artefacts, matched on the original (case-preserved) text. */
const ARTEFACTS: Array<{ name: string; re: RegExp; weight: number; cap: number }> = [
	{ name: 'code block', re: /```/g, weight: 4, cap: 1 },
	{
		name: 'stack trace',
		re: /Traceback \(most recent call last\)|^[ \t]+at [^\n]{1,200}:\d+(?::\d+)?\)?[ \t]*$|\b[A-Z][A-Za-z]{1,40}(?:Error|Exception)\b|\bE(?:CONNREFUSED|CONNRESET|NOENT|ACCES|ADDRINUSE|PERM|TIMEDOUT|PIPE|HOSTUNREACH|NOTFOUND)\b|\bline \d+, in\b|panicked at|Segmentation fault/gm,
		weight: 3,
		cap: 1,
	},
	{ name: 'SQL', re: /\bSELECT\b[^;]{1,300}?\bFROM\b|\bINSERT\s+INTO\b|\bCREATE\s+(?:TABLE|INDEX|VIEW)\b|\bUPDATE\s+\w+\s+SET\b/g, weight: 3, cap: 1 },
	{ name: 'shell command', re: /^[ \t]*(?:\$ |> )?(?:sudo|npm|npx|pip|git|docker|kubectl|curl|wget|chmod|chown|grep|ssh|apt(?:-get)?|brew|yarn|systemctl) [^\n]{0,120}$/gm, weight: 2, cap: 1 },
	{
		name: 'code syntax',
		re: /^[ \t]*(?:def |class \w|function |async function |const |let |var |import |from \S+ import|export |return\b|public |private |func |fn |#include|package \w|using \w|location |server \{|if \(|for \(|while \(|try:|except\b|catch\b)|^[ \t]*(?:for|if|elif|while|with)\b[^\n]{1,80}:[ \t]*$|^[ \t]*[A-Za-z_][\w.]{0,40}[ \t]*=[ \t]*(?:\[|\{|\(|'|"|\d+[ \t]*$|[A-Za-z_][\w.]{0,40}\()|[{};][ \t]*$|=>|!==|===|&&|\|\||::|\w\+\+/gm,
		weight: 1,
		cap: 4,
	},
	{ name: 'file name', re: /\w\.(?:py|js|mjs|cjs|ts|tsx|jsx|java|go|rs|cpp|hpp|rb|php|sh|ps1|ya?ml|toml|ini|sql|json|xml|html|css|scss|vue|kt|swift|cs|ipynb|conf)\b/g, weight: 2, cap: 1 },
	{ name: 'inline code', re: /`[^`\n]{1,80}`/g, weight: 1, cap: 2 },
	// camelCase, snake_case, a call: each found from a two-character signature, so prose fails fast.
	{ name: 'identifier', re: /[a-z][A-Z]|[a-z]_[a-z]|\w\([^()\n]{0,60}\)/g, weight: 1, cap: 2 },
	{ name: 'markup', re: /<\/?[a-z][a-z0-9]*(?:\s[^<>\n]{0,80})?>/g, weight: 2, cap: 1 },
];

/** Language-independent maths artefacts. */
const MATH_EXPR = /[\w)][ \t]*(?:\^|\*\*)|[²³]|\b\d+[ \t]*[-+×÷*/][ \t]*\d+[^\n=]{0,20}=|=[ \t]*-?\d+\b[ \t]*$|\b[A-Z]{3,}[ \t]*\+[ \t]*[A-Z]{3,}[ \t]*=|\b[x-z][ \t]*=[ \t]*\?|\b\d+[ \t]*(?:in|out of|sur|von|de|em|en)[ \t]+\d+\b/gm;
const NUMBER = /\d+(?:[.,:]\d+)*/g;

/** Scan limits: a huge message is read on its first HEAD and last TAIL characters. */
const HEAD = 2000;
const TAIL = 800;
const SYSTEM_HEAD = 2000;

interface Match {
	count: number;
	first?: string;
	/** Position of the first match (text length when none). */
	at: number;
}

/** Counts matches up to `cap`; `overlap` also counts a cue nested inside a longer one. */
function scan(re: RegExp, text: string, cap: number, overlap = false): Match {
	re.lastIndex = 0;
	let count = 0;
	let first: string | undefined;
	let at = text.length;
	let m: RegExpExecArray | null;
	while (count < cap && (m = re.exec(text)) !== null) {
		if (m[0].length === 0 || overlap) re.lastIndex = m.index + 1;
		if (m[0].length === 0) continue;
		if (first === undefined) {
			const cue = m[1] ?? m[2] ?? m[0];
			first = cue.trim();
			at = m.index + m[0].length - cue.length;
		}
		count++;
	}
	return { count, first, at };
}

function bounded(text: string, head = HEAD, tail = TAIL): string {
	return text.length <= head + tail ? text : `${text.slice(0, head)}\n${text.slice(text.length - tail)}`;
}

/** Text of a message's content (strings and text parts), whatever its role. */
function textOf(message: ChatMessage): string {
	const content = (message as { content?: unknown }).content;
	if (typeof content === 'string') return content;
	if (!Array.isArray(content)) return '';
	let out = '';
	for (const part of content) {
		if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
			out += (out ? '\n' : '') + (part as { text: string }).text;
		}
	}
	return out;
}

function hasImage(message: ChatMessage): boolean {
	const content = (message as { content?: unknown }).content;
	if (!Array.isArray(content)) return false;
	for (const part of content) {
		const type = part && typeof part === 'object' ? (part as { type?: unknown }).type : undefined;
		if (type === 'image_url' || type === 'image' || type === 'input_image') return true;
	}
	return false;
}

/** Characters of everything the model reads: contents and tool-call arguments. */
function collectTexts(messages: ChatMessage[]): string[] {
	const texts: string[] = [];
	for (const message of messages) {
		const text = textOf(message);
		if (text) texts.push(text);
		const calls = (message as { tool_calls?: Array<{ function?: { arguments?: unknown; name?: unknown } }> }).tool_calls;
		if (Array.isArray(calls)) {
			for (const call of calls) {
				if (typeof call?.function?.arguments === 'string') texts.push(call.function.arguments);
			}
		}
	}
	return texts;
}

const isWide = (c: number) => (c >= 0x3040 && c <= 0x30ff) || (c >= 0x3400 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af) || (c >= 0xff00 && c <= 0xffef);

/** CJK characters in a text: counted exactly up to 2,048 characters, else from 4 fixed 512-character samples. */
function wideCount(text: string): number {
	const n = text.length;
	if (n <= 2048) {
		let wide = 0;
		for (let i = 0; i < n; i++) if (isWide(text.charCodeAt(i))) wide++;
		return wide;
	}
	let wide = 0;
	const step = Math.floor((n - 512) / 3);
	for (let k = 0; k < 4; k++) {
		const from = k * step;
		for (let i = from; i < from + 512; i++) if (isWide(text.charCodeAt(i))) wide++;
	}
	return Math.round((wide / 2048) * n);
}

/**
 * Cheap token estimate: 4 characters per token, 1 per CJK character. Characters are looked at
 * only when the answer depends on them (between `threshold` and `4 * threshold` characters),
 * and then on a bounded sample of each long text.
 */
function estimateTokens(texts: string[], threshold: number): { tokens: number; over: boolean } {
	let chars = 0;
	for (const t of texts) chars += t.length;
	if (chars / 4 > threshold) return { tokens: Math.round(chars / 4), over: true };
	if (chars <= threshold) return { tokens: Math.round(chars / 4), over: false };
	let wide = 0;
	for (const t of texts) wide += wideCount(t);
	const tokens = Math.round(wide + (chars - wide) / 4);
	return { tokens, over: tokens > threshold };
}

interface Signals {
	code: number;
	/** The part of `code` from artefacts and unambiguous vocabulary (not hints). */
	codeStrong: number;
	reasoning: number;
	codeWhy: string[];
	reasoningWhy: string[];
	greeting: boolean;
	fast?: string;
	balanced?: string;
	/** Lowercased bounded text, for cues read only when needed. */
	lower: string;
	/** Rough size in words (a CJK character counts as half a word). */
	words: number;
	chars: number;
}

function wordCount(text: string): number {
	let words = 0;
	let inWord = false;
	let cjk = 0;
	const n = Math.min(text.length, HEAD + TAIL);
	for (let i = 0; i < n; i++) {
		const c = text.charCodeAt(i);
		if (c >= 0x3040 && c <= 0x9fff) {
			cjk++;
			inWord = false;
		} else if (c <= 32 || c === 0x3000) {
			inWord = false;
		} else if (!inWord) {
			inWord = true;
			words++;
		}
	}
	return words + Math.ceil(cjk / 2);
}

const PUNCT = /[\s!?.,;:¡¿。、！？…~'"“”«»()-]+/g;

function isSmallTalk(lower: string): boolean {
	if (lower.length > 60) return false;
	const stripped = lower.replace(PUNCT, ' ').trim();
	if (!stripped) return false;
	const re = CUE_RE.greeting;
	re.lastIndex = 0;
	let rest = stripped;
	let found = false;
	rest = rest.replace(re, () => {
		found = true;
		return ' ';
	});
	if (!found) return false;
	for (const word of rest.split(' ')) {
		if (word && !FILLER.has(word)) return false;
	}
	return true;
}

/** Starts with a follow-up marker: "now ...", "and ...", "jetzt ...". */
function isFollowUp(lower: string): boolean {
	const m = scan(CUE_RE.followUp, lower, 1);
	return m.count > 0 && m.at < 3;
}

function signalsOf(original: string): Signals {
	const text = bounded(original);
	const lower = text.toLowerCase();
	const codeWhy: string[] = [];
	const reasoningWhy: string[] = [];
	let code = 0;
	for (const a of ARTEFACTS) {
		const m = scan(a.re, text, a.cap);
		if (m.count) {
			code += a.weight * m.count;
			codeWhy.push(a.name);
		}
	}
	const task = scan(CUE_RE.codeTask, lower, 1);
	if (task.count) {
		code += 3;
		codeWhy.push(`"${task.first}"`);
	}
	const strong = scan(CUE_RE.code, lower, 3);
	if (strong.count) {
		code += 2 * strong.count;
		codeWhy.push(`"${strong.first}"`);
	}
	// Hints (function, bug, return, app) add at most 2: alone they never reach the strong level.
	const codeStrong = code;
	const hint = scan(CUE_RE.codeHint, lower, 2);
	code += hint.count;
	if (hint.count && !codeWhy.length) codeWhy.push(`"${hint.first}"`);
	// Python the snake, Java the island: a language name counts only beside other code words.
	if (code > 0) {
		const ambiguous = scan(CUE_RE.codeAmbiguous, lower, 1);
		if (ambiguous.count) {
			code += 2;
			codeWhy.push(`"${ambiguous.first}"`);
		}
	}

	// Strong reasoning: explicit vocabulary and formulas. Weak: hints and numbers, which alone
	// never outweigh a writing task (the numbers of an article to summarise are data).
	let reasoningStrong = 0;
	let reasoningWeak = 0;
	const r = scan(CUE_RE.reasoning, lower, 3);
	if (r.count) {
		reasoningStrong += 3 * r.count;
		reasoningWhy.push(`"${r.first}"`);
	}
	const maths = scan(MATH_EXPR, text, 1);
	if (maths.count) {
		reasoningStrong += 2;
		reasoningWhy.push('a formula');
	}
	const rh = scan(CUE_RE.reasoningHint, lower, 2, true);
	if (rh.count) {
		reasoningWeak += rh.count;
		reasoningWhy.push(`"${rh.first}"`);
	}
	// Numbers count beside a reasoning word, or as a question with several numbers (a word
	// problem); a phone number or a date in a statement is not maths.
	const numbers = scan(NUMBER, text, 3).count;
	const question = text.includes('?') || text.includes('？');
	if ((numbers >= 1 && rh.count) || (numbers >= 2 && reasoningStrong) || (numbers >= 3 && question)) {
		reasoningWeak += numbers >= 3 ? 2 : 1;
		reasoningWhy.push(numbers >= 3 ? 'several numbers' : 'numbers');
	}

	// When both a simple-task cue and a writing cue appear, the one mentioned first is the task
	// ("translate this email" is a translation; "write a job ad ... capital" is writing).
	const f = scan(CUE_RE.fast, lower, 1);
	const b = scan(CUE_RE.balanced, lower, 1);
	const fast = f.first !== undefined && (b.first === undefined || f.at <= b.at) ? f.first : undefined;
	const balanced = b.first !== undefined && (f.first === undefined || b.at < f.at) ? b.first : undefined;
	const reasoning = reasoningStrong > 0 || !(f.first || b.first) ? reasoningStrong + reasoningWeak : reasoningStrong;
	const words = wordCount(text);
	return {
		code,
		codeStrong,
		reasoning,
		codeWhy,
		reasoningWhy,
		greeting: isSmallTalk(lower),
		fast,
		balanced,
		lower,
		words,
		chars: original.length,
	};
}

/** 12345 -> "12,345" (toLocaleString would load ICU data on its first call: milliseconds). */
const thousands = (n: number) => String(Math.round(n)).replace(/\B(?=(\d{3})+$)/g, ',');

const clamp = (x: number) => Math.max(0, Math.min(1, Math.round(x * 100) / 100));

function decide(category: Category, confidence: number, reason: string): RouterDecision {
	return { category, confidence: clamp(confidence), reason };
}

/** Decision from the last user turn alone; undefined when it carries no task signal at all. */
function fromTurn(s: Signals): RouterDecision | undefined {
	const { code, reasoning } = s;
	if (s.greeting && code < 3 && reasoning < 3) return decide('fast', 0.9, 'small talk (greeting or thanks)');
	if (code >= 3 || reasoning >= 3) {
		if (code >= reasoning) return decide('code', 0.6 + 0.05 * Math.min(code - reasoning, 7), `code: ${s.codeWhy.slice(0, 3).join(', ')}`);
		return decide('reasoning', 0.6 + 0.05 * Math.min(reasoning - code, 7), `reasoning: ${s.reasoningWhy.slice(0, 3).join(', ')}`);
	}
	const short = s.words <= 40 && s.chars <= 300;
	if (s.fast && short) return decide('fast', 0.7, `short simple task ("${s.fast}")`);
	if (code === 2 && reasoning < 2 && (s.codeStrong > 0 || !s.balanced)) return decide('code', 0.55, `code: ${s.codeWhy.slice(0, 3).join(', ')}`);
	if (reasoning === 2 && code < 2 && !s.balanced) return decide('reasoning', 0.5, `reasoning: ${s.reasoningWhy.slice(0, 3).join(', ')}`);
	if (s.balanced) return decide('balanced', 0.7, `writing or explaining ("${s.balanced}")`);
	if (s.fast) return decide('balanced', 0.55, `"${s.fast}" on a longer text`);
	return undefined;
}

function lastIndexOfRole(messages: ChatMessage[], role: string, before = messages.length): number {
	for (let i = before - 1; i >= 0; i--) if (messages[i]?.role === role) return i;
	return -1;
}

/**
 * Classifies a conversation by rules. Deterministic and local: the same messages always give
 * the same category, confidence and reason.
 */
export function classifyByRules(messages: ChatMessage[], options: RulesOptions = {}): RouterDecision {
	const threshold = options.longContextTokens && options.longContextTokens > 0 ? options.longContextTokens : DEFAULT_LONG_CONTEXT_TOKENS;
	const list = Array.isArray(messages) ? messages : [];

	let images = 0;
	for (const m of list) if (m && hasImage(m)) images++;
	if (images > 0) return decide('vision', 0.95, images === 1 ? 'the conversation has an image' : `the conversation has ${images} messages with images`);

	const size = estimateTokens(collectTexts(list), threshold);
	if (size.over) {
		const ratio = size.tokens / threshold;
		return decide('long_context', Math.min(0.95, 0.7 + (ratio - 1) * 0.5), `about ${thousands(size.tokens)} tokens, over the ${thousands(threshold)}-token threshold`);
	}

	const userIndex = lastIndexOfRole(list, 'user');
	const userText = userIndex >= 0 ? textOf(list[userIndex]) : '';
	const systemText = bounded(
		list
			.filter((m) => m?.role === 'system' || m?.role === 'developer')
			.map(textOf)
			.join('\n'),
		SYSTEM_HEAD,
		0,
	);
	const turn = signalsOf(userText);

	// A system prompt that describes the task ("translate the user's message", "output only SQL")
	// decides it: the user message is then the data, not the instruction.
	if (systemText) {
		CUE_RE.directive.lastIndex = 0;
		if (CUE_RE.directive.test(systemText.toLowerCase())) {
			// The system prompt's own length says nothing; the user text's length is checked below.
			const sys = fromTurn({ ...signalsOf(systemText), words: 1, chars: 1, greeting: false });
			if (sys && sys.category !== 'balanced') {
				if (sys.category === 'fast' && !(turn.words <= 60 && turn.chars <= 400)) {
					return decide('balanced', 0.6, `system prompt sets a simple task (${sys.reason}) on a longer text`);
				}
				return decide(sys.category, Math.min(sys.confidence, 0.75), `system prompt sets the task: ${sys.reason}`);
			}
		}
	}

	const own = fromTurn(turn);
	const strongOwn = own && (own.category === 'code' || own.category === 'reasoning' || own.reason.startsWith('small talk'));

	// A short follow-up ("now make it return a list") inherits the previous turn's code or reasoning task.
	if (!strongOwn && turn.words <= 30 && userIndex > 0 && isFollowUp(turn.lower)) {
		const previous = lastIndexOfRole(list, 'user', userIndex);
		if (previous >= 0) {
			const before = fromTurn(signalsOf(textOf(list[previous])));
			if (before && (before.category === 'code' || before.category === 'reasoning')) {
				return decide(before.category, 0.6, `follow-up to an earlier ${before.category} request`);
			}
		}
	}
	if (own) return own;

	// No signal in the user turn: a persona system prompt is the only hint left.
	if (systemText && turn.words > 5) {
		const sys = fromTurn(signalsOf(systemText));
		if (sys && (sys.category === 'code' || sys.category === 'reasoning')) {
			return decide(sys.category, 0.45, `no task signal in the message; system prompt suggests ${sys.category}`);
		}
	}
	if (!userText.trim()) return decide('fast', 0.4, 'no user text');
	if (turn.words <= 15 && turn.chars <= 120) return decide('fast', 0.55, 'short request with no special signal');
	return decide('balanced', 0.5, 'everyday request with no special signal');
}

/**
 * V8 compiles a regex lazily, on its first runs (bytecode, then native code), and separately for
 * one-byte and two-byte strings: a few milliseconds in all. Pay that once when the module loads,
 * not on the first item of a workflow. Every regex above runs on these samples, twice.
 */
function warmUp(): void {
	const samples: ChatMessage[][] = [
		[{ role: 'system', content: 'You convert text. Output only SQL.' }, { role: 'user', content: 'hi, thanks!' }],
		[
			{ role: 'user', content: 'Write a Python function: ```def f(x): return x**2``` TypeError at app.py line 3, in f; SELECT a FROM b; `x` <b>' },
			{ role: 'assistant', content: 'ok' },
			{ role: 'user', content: 'Now prove that 1+1=2 if 3 in 4; step by step, translate, summarize, explain.' },
		],
		[{ role: 'user', content: 'こんにちは！ この関数のバグを直して: ```x = 1;``` 確率は？ 翻訳して、要約して。 “prove” x^2 = 0 …' }],
		[{ role: 'developer', content: 'ユーザーのメッセージを翻訳し、翻訳のみを出力。' }, { role: 'user', content: 'それは何ですか？ 1 + 2 = 3' }],
	];
	for (let i = 0; i < 2; i++) for (const messages of samples) classifyByRules(messages);
}
warmUp();
