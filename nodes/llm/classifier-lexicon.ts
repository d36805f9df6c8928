/**
 * Words for the Auto-Router's local classifier, as data: concepts for the text model, and phrases
 * for the conversation rules.
 *
 * Concepts for the Auto-Router's text model: words in many languages that mean the same thing
 * ("prove", "beweise", "démontre", "証明") become one feature, so what the model learns from one
 * language carries over to the others, and a tool name it never saw in training ("ansible") still
 * counts as infrastructure. The model learns each concept's weight; nothing here decides a category.
 *
 * Each concept lists space-separated entries, lowercased: a word matches itself; "stem*" matches
 * any word starting with the stem (at least 3 letters); CJK entries match where they appear.
 * Languages: en, de, fr, es, pt, it, nl, ja, zh, ko, ru, pl.
 */
export const CONCEPTS: Record<string, string> = {
	// Small talk and one-line tasks.
	greeting: 'hi hello hey hallo moin servus bonjour salut coucou hola olá oi ciao hoi cześć привет こんにちは こんばんは おはよう 你好 안녕하세요 morning evening',
	thanks: 'thanks thank thx danke merci gracias obrigado obrigada valeu grazie bedankt dziękuję спасибо ありがとう 谢谢 감사합니다 cheers appreciate*',
	translate: 'translat* übersetz* tradu* traduc* vertaal* tłumacz* перевед* перевод* 翻訳 訳して 英語で 日本語で 翻译 번역',
	grammar: 'grammar spelling spell typo typos proofread* punctuation grammatik rechtschreib* tippfehler orthograph* grammaire ortografía gramática ortografia grammatica spelfout* 誤字 文法 语法 맞춤법 corrige corrija corrija korrigier* correggi',
	rephrase: 'rephrase paraphras* reword* shorten* simplif* polite* formal* umformulier* formulier* höflich* reformul* poli* refrasea* acorta* cortés* encurt* educad* riformul* 言い換え 丁寧',
	synonym: 'synonym* antonym* opposite synonyme* gegenteil contraire sinónimo* antónimo* sinônimo* antônimo* sinonim* contrario tegenovergestelde 類義語 対義語 反対語 同义词 反义词',
	meaning: 'meaning mean means define definition acronym abbreviation stand bedeut* abkürzung signifi* veut significa* significado* betekent betekenis 意味 意思 значит означает',
	classify: 'classify classif* categori* label* sentiment* intent klassifizier* kategorisier* einordn* classe clasific* categoriz* classifique classifica etiquet* 分類 分类 ラベル',
	spam: 'spam phishing scam clickbait',
	extract: 'extract* pull extrahier* zieh* extrais extrai* extrae* estrai* haal 抽出 抜き出 取り出 提取',
	language: 'language sprache langue idioma língua lingua taal język язык 言語 何語 语言 언어',
	capital: 'capital hauptstadt capitale hoofdstad stolica столица 首都',
	who: 'who wrote invented founded painted discovered composed directed wer schrieb erfand écrit inventé quién escribió inventó quem escreveu inventou chi scritto 誰 谁',
	when: 'when year wann jahr quand année cuándo año quando ano anno jaar 何年 いつ 哪一年',
	comparative: 'bigger larger smaller taller older heavier longer deeper colder hotter faster farther further größer kleiner älter schwerer länger tiefer mayor maior groter 大きい 高い 多い',
	units: 'convert* inch inches cm km miles mile pounds pound kg ounce* gram* celsius fahrenheit liter* litre* gallon* umrechn* zoll meile* pulgada* polegada* 何センチ',
	shortanswer: 'just only briefly quick seulement solo apenas',

	// Everyday writing and explanation.
	write: 'write writ* draft* compose* schreib* verfass* formulier* écri* rédig* escrib* redact* redacta escrev* redij* redija scriv* schrijf napisz напиш* 書いて 書く 書き 作成 써 pisz* napisać 写一 帮我写 撰写 작성',
	email: 'email mail letter message note reply brief nachricht lettre courriel carta correo mensaje mensagem lettera messaggio bericht メール 手紙 邮件 письм* 이메일 wiadomość* wiadomości メッセージ 消息 信件 短信 메일 сообщени*',
	social: 'post tweet tweets thread linkedin instagram facebook caption hashtag beitrag publication publicación publicação 投稿 ツイート 帖子 微博 wpis* 朋友圈 推文 tuit* hilo',
	story: 'story stories poem poetry haiku limerick lyrics song fairy geschichte gedicht märchen histoire poème conte cuento poema poesía storia poesia verhaal gedicht 物語 詩 童話 故事 诗',
	speech: 'speech toast eulogy wedding birthday anniversary rede ansprache hochzeit geburtstag discours mariage anniversaire discurso boda cumpleaños casamento aniversário discorso スピーチ 挨拶 演讲',
	description: 'description describe* bio profile slogan* tagline* beschreib* beschreibung décri* descri* descrev* 紹介文 説明文 キャッチコピー 介绍',
	summary: 'summar* summaris* summariz* tldr recap takeaways gist zusammenfass* fasse résum* resum* resuma riassum* sintetiz* samenvat* 要約 まとめ 概要 总结 摘要 概括 streść* podsumuj* podsumowanie riepilog* samenvatting 요약 кратко',
	explain: 'explain* explanation erklär* expliqu* explic* explica explique spiega* 説明 教えて 解释 说明 объясн* wyjaśni* wytłumacz* uitleg* spiegami 讲解 설명',
	advice: 'tips advice suggest* recommend* ideas idea tipps ratschl* ratschlag vorschl* ideen conseil* idées suggér* consejo* sugier* ideas dicas conselho* sugest* consigli* suggeri* idee アドバイス アイデア おすすめ 建议 주제',
	travel: 'itinerary trip travel visit vacation holiday weekend sightseeing reise urlaub besichtig* voyage vacances visiter viaje vacaciones visitar viagem férias viaggio vacanza 旅行 旅程 観光 旅游',
	announce: 'announce* announcement release notes changelog update newsletter status memo ankündig* mitteilung annonce* communiqué anuncio anúncio comunicado aviso avviso お知らせ 告知 報告 公告 通知 ogłoszeni* komunikat* aankondig* mededeling* annuncio comunicato 发布 объявлени* 공지 vacature* stellenanzeige* vacancy 招聘 求人',
	rewrite: 'rewrite* polish improve tone friendlier warmer professional engaging umschreib* überarbeit* réécri* reescrib* reescrev* riscriv* 書き直 改善',
	why: 'why warum wieso pourquoi porque perché waarom なぜ どうして 为什么 почему dlaczego czemu 为何 왜',
	history: 'history historical origin* century geschichte histoire historia história storia 歴史 历史',
	should: 'should shall soll sollte devrais devo debería deveria dovrei moet べき 应该 powinienem powinnam warto 该不该 要不要 стоит',
	life: 'feel stuck career friend boyfriend girlfriend relationship family kids parents job interview resume cv freund familie karriere ami famille carrière amigo familia carrera família carreira 友達 家族 転職 面接',
	health: 'health sleep diet exercise workout running marathon stress healthy gesundheit schlaf santé sommeil salud sueño saúde sono salute 健康 睡眠',
	howworks: 'funktioniert fonctionne funciona funziona werkt 仕組み 原理',

	// Multi-step reasoning.
	prove: 'prove proof proving beweis* démontr* démontre prouve* demuestr* demostr* prova prove demonstr* dimostr* bewijs* udowodnij докаж* 証明 证明 증명',
	probability: 'probabilit* chance chances odds likely wahrscheinlich* probabilité probabilidad* probabilidade* probabilità kans kansen prawdopodob* вероятност* 確率 概率 확률',
	counting: 'ways arrangements combinations permutations arrange möglichkeiten anordnung* façons manières combinaisons formas maneras combinaciones maneiras combinações modi manieren 何通り 並べ方 组合 排列 多少种',
	puzzle: 'puzzle* riddle* brainteaser* teaser rätsel* denksport* énigme* devinette acertijo* adivinanza* rompecabezas enigma* charada* indovinell* rompicapo raadsel* łamigłówk* загадк* パズル なぞなぞ 謎 谜题 谜语',
	solve: 'solve solving equation equations resolve löse lösen gleichung* résous résoudre équation* resuelve resolver ecuación* resolva equação equações risolvi equazion* vergelijking* 解いて 解け 方程式 解方程 уравнени*',
	stepwise: 'step steps reasoning justify reason schritt* rechenweg begründ* étape* justifi* raisonnement paso razonamiento justifica passo raciocínio justifique passaggi ragionamento stap 考え方 過程 步骤 推理',
	liar: 'liar liars lie lies lying truth truthful knight knights knave knaves lügner lügt lügen wahrheit ehrlich* ritter schurke* menteur* ment mentent vérité chevalier* honnête mentiroso* miente mienten verdad caballero* mente mentem verdade cavaleiro* patife* bugiard* mente verità leugenaar* 嘘つき 正直者 说谎 诚实',
	weigh: 'weigh weighing weighings weight balance scale scales heavier lighter counterfeit fake coins coin wägung* wiegen waage schwerer leichter münze* pesée* peser balance pièce* pesada* pesar balanza moneda* pesagem* pesagens balança moeda* pesat* bilancia monet* 天秤 硬貨 重い 軽い 天平 称',
	tiling: 'tile tiles tiling tilings domino dominoes dominos tromino* cover covered board chessboard grid squares kachel* fliese* plättchen dominosteine* schachbrett paver pavage carrelage échiquier recouvrir ficha* tablero cubrir azulejo* pastilha* tabuleiro cobrir piastrell* scacchiera ricoprire タイル ドミノ 敷き詰 盤 骨牌 棋盘 铺',
	schedule: 'schedule scheduling shift shifts rota rotation timetable roster slot slots availability available free calendar dienstplan schicht schichten termin bereitschaft* planning créneau* horaire* garde horario turno turnos cuadrante guardia escala plantão turni orario シフト 日程 時間割 排班 日程 rooster dyżur* grafik* 值班 时间表 轮班',
	constraint: 'constraint* must cannot never exactly least only condition* nie genau mindestens höchstens darf jamais exactement nunca exactamente máximo mínimo exatamente esattamente almeno 条件 以上 以下 必ず 只能',
	budget: 'budget split divide share shares proportion* proportional* allocate* allocation fair aufteil* teilen verteil* budgets répart* partag* divis* presupuesto repart* dividir orçamento divid* reparti* ripart* dividere 予算 分け 配分 预算 分配 verdel* podziel* budżet* 分摊 平摊',
	statistics: 'average mean median mode deviation variance outlier outliers trend forecast percentile volatility significant durchschnitt* mittelwert median ausreißer trend prognose moyenne médiane écart tendance prévision media mediana promedio desviación tendencia pronóstico média desvio previsão 平均 中央値 標準偏差 外れ値 傾向 平均数 中位数 方差 gemiddeld* mediaan średni* 平均值 趋势 预测 среднее',
	demand: 'demand stock inventory reorder sold sales units lead delivery warehouse nachfrage lager lagerbestand absatz verkauft demande inventaire ventes vendu commander demanda inventario existencias ventas vendidas estoque vendas vendidos domanda magazzino vendite 需要 在庫 販売数 発注 库存 需求 销量',
	money: 'cheaper cheapest deal worth cost costs price pay paying save saving savings interest loan mortgage invest investing salary discount rent profit günstiger lohnt kosten preis zahlen zins zinsen kredit sparen rabatt miete gewinn vaut coût prix payer intérêts prêt épargne remise loyer bénéfice barato conviene vale costo precio pagar interés préstamo ahorro descuento alquiler beneficio compensa juros empréstimo poupança desconto aluguel lucro conviene costa prezzo sconto affitto 安い 金利 割引 家賃 利益 划算 利息 折扣 goedkoper huur rente lening korting cena taniej czynsz odsetki kredyt* zniżk* 价格 便宜 租金 贷款 가격 цена',
	rate: 'speed mph kmh hour hours minute minutes faster catch overtake rate geschwindigkeit stunde stunden minuten einholen vitesse heure heures minutes rattrape velocidad hora horas minutos alcanza velocidade velocità ore 速さ 時速 分速 追いつ 速度 小时 prędkość* snelheid 每小时',
	age: 'age ages old years alt jahre älter âge ans âgé edad años idade anos età anni 歳 年齢 岁',
	numbertheory: 'prime primes divisible integer integers digit digits remainder factorial multiple multiples odd even sum summe somme suma soma somma som primzahl* teilbar ganze ziffer* gerade ungerade premier premiers divisible entier* chiffre* reste impair primo primos divisible entero* dígito* resto impar inteiro* algarism* primi intero cifre dispari 素数 整数 倍数 余り 偶数 奇数 质数 余数 偶数',
	geometry: 'area perimeter triangle angle angles radius circle rectangle diagonal* polygon hexagon square fläche umfang dreieck winkel kreis rechteck aire périmètre triangle angle cercle rectangle área perímetro triángulo ángulo círculo rectángulo triângulo ângulo retângulo 面積 三角形 角度 円 面积 三角形',
	tradeoff: 'tradeoff tradeoffs pros cons weigh compare versus options decide decision recommend abwägen vorteile nachteile avantages inconvénients ventajas desventajas vantagens desvantagens pro contro メリット デメリット 利弊 voordelen nadelen zalety wady vantaggi svantaggi 优点 缺点 优缺点 장단점 плюсы минусы',
	logic: 'logic logical valid argument deduce conclude therefore implies follows premise logik logisch schlussfolger* logique déduire lógica deducir concluir logica dedurre 論理 推論 逻辑',
	sequence: 'sequence pattern series folge reihe suite série secuencia serie sequência 数列 規則 规律 数列',
	estimate: 'estimate estimation fermi roughly assumptions schätz* abschätz* estim* estimación estimativa 見積 推定 估计',
	maths: 'calculate calculation compute math maths arithmetic derivative integral formula berechne* rechne* mathe calcul* calcule calcula calcolare matematica 計算 求めて 求め 计算 数学 oblicz* policz* bereken* calcola*',

	// Code and infrastructure.
	code: 'code coding program programming programmer script scripts function functions method methods class variable variables loop loops array arrays compile compiler runtime library framework snippet syntax refactor* implement* debug* bug bugs programm* skript* quellcode funktion* schleife* fonction* boucle* programmation función* bucle* programación código função laço funzione ciclo codice コード 関数 プログラム スクリプト 実装 バグ 代码 函数 程序 脚本 코드 함수 функци* код kod* funkcj* functie* programmeer* skrypt* pętl* 编程 コーディング',
	data: 'sql query queries database databases table tables index join schema postgres postgresql mysql sqlite mongodb redis dynamodb bigquery snowflake orm migration abfrage datenbank* tabelle requête* consulta* tabla tabela クエリ データベース テーブル 数据库 查询 zapytani* bazy bazie bazę データ',
	infra: 'server servers deploy deployment docker dockerfile container containers kubernetes k8s kubectl pod pods cluster helm terraform ansible cloudformation pulumi aws gcp azure ec2 s3 lambda iam vpc vm vps nginx apache ssl tls dns domain certificate proxy cd pipeline pipelines github gitlab jenkins actions workflow hetzner heroku vercel netlify serveur servidor servidores サーバー コンテナ 服务器 部署 serwer* 서버 сервер* 容器',
	shell: 'bash oneliner liner vim emacs nano tmux vscode zsh terminal command commands oneliner cli cron crontab cronjob grep sed awk ssh chmod chown sudo linux ubuntu debian macos powershell batch tail log logs logfile logfiles systemd daemon process port befehl kommandozeile einzeiler commande comando コマンド ワンライナー ログ 命令 日志 终端 polecen* komend* opdracht* 命令行 ターミナル 터미널 терминал*',
	// Names that are also a snake, an island, a gem, a beach find: code only beside other code words.
	namesake: 'python java ruby perl scala shell swift rust',
	proglang: 'javascript typescript golang php ruby kotlin scala perl haskell elixir lua node nodejs deno react vue angular svelte django fastapi nextjs jquery pandas numpy matplotlib pytorch tensorflow jupyter html css tailwind json yaml xml csv regex regexp graphql wasm',
	spreadsheet: 'excel formula formulas vlookup xlookup sheets spreadsheet spreadsheets cell cells column columns script macro macros vba dax query zapier airtable notion formel tabelle zelle spalte formule tableur cellule colonne fórmula planilha célula coluna hoja celda columna formula foglio スプレッドシート 関数 セル 表格 arkusz* kolumn* komórk* formuł* werkblad kolom colonna cella 单元格 シート таблиц*',
	error: 'error errors exception exceptions traceback crash crashes crashing fails failing failed broken undefined null nan segfault stacktrace warning fehler absturz stürzt erreur plante erreurs error falla fallo erro travou errore エラー 例外 落ちる 错误 报错 异常 ошибка błąd* błędu foutmelding* fout crasht 오류 에러 ошибк*',
	git: 'git commit commits branch branches merge rebase pull push clone stash checkout repo repository repositories gitignore pr diff',
	cs: 'algorithm algorithms complexity recursion recursive threads multithreading process processes concurrency parallelism deadlock race mutex async await callback callbacks closure closures hash stack queue heap binary pointer pointers garbage leak cache caching oop inheritance interface polymorphism idempotent scalable microservice* monolith api apis rest endpoint endpoints webhook webhooks http https cors jwt oauth token tokens authentication authorization encryption hashing',
	automate: 'automate automatically automatic automation scheduled nightly backup backups sync upload download rename resize folder folders directory directories files file automatisch automatisieren backup automatique sauvegarde automáticamente copia automaticamente 自動 自動で バックアップ 自动 备份 automatycz* автоматическ*',
	install: 'install installing installed setup configure configuration config upgrade update version dependency dependencies npm pip yarn brew apt installier* konfigur* installer configurer instalar configurar installare configurare インストール 設定 安装 配置',
	test: 'tests testing unittest pytest jest mocha mock mocks coverage assertion',
	// Technical terms a question about a concept turns on ("what is a foreign key?").
	techterm: 'tcp udp dns ip ipv4 ipv6 http2 ssh ftp sftp smtp imap websocket websockets grpc protobuf toml uuid guid sha md5 base64 utf unicode ascii decorator decorators iterator iterators lambda lambdas mutex semaphore compiler bytecode jvm webassembly wasm llvm gcc clang kernel syscall debugger breakpoint nullpointer orm nosql sharding replication replica failover latency throughput bandwidth cdn firewall subnet vlan dhcp loadbalancer ide linter serverless middleware framework frameworks sdk runtime virtualenv venv conda kubectl namespace namespaces microservice microservices monorepo theorem deadlocks indexes primärschlüssel fremdschlüssel 主キー 外部キー 主键 外键 プロセス スレッド 进程 线程 デコレータ クロージャ 프로세스 스레드 процесс поток',
};

/**
 * Phrase lists for the classifier's conversation rules (classifier.ts), as regex fragments matched
 * on lowercased text. They decide only the structure of a conversation (small talk, a follow-up,
 * a task-setting system prompt); the task itself is the model's.
 */
export const GREETINGS = [
	'hi', 'hello', 'hey', 'hiya', 'howdy', 'yo', 'sup', 'good (?:morning|afternoon|evening|night|day)', 'morning', 'evening', 'thanks?', 'thank you', 'thx', 'ty', 'cheers', 'bye', 'goodbye',
	'see you(?: (?:later|tomorrow|soon))?', 'talk (?:to you )?(?:later|tomorrow|soon)', 'ttyl', 'how are you', "how's it going", "what's up", 'nice to meet you', 'have a (?:nice|good|great) (?:day|one|weekend|evening)',
	'perfect', 'great', 'awesome', 'cool', 'nice', 'ok(?:ay)?', 'that worked', 'it works', 'works', 'got it', 'sounds good', 'much appreciated', 'appreciate it', "you're the best", 'happy new year', 'merry christmas',
	'hallo', 'servus', 'moin', 'guten (?:morgen|tag|abend)', 'gute nacht', 'danke(?: schön| sehr| dir)?', 'vielen dank', 'tschüss', 'wie geht(?:s| es dir| es ihnen)', 'alles (?:klar|gut|fit)', 'super', 'bis (?:morgen|bald|später)',
	'bonjour', 'salut', 'bonsoir', 'coucou', 'merci(?: beaucoup)?', 'bonne (?:journée|soirée|nuit)', 'au revoir', 'ça va', 'comment ça va', 'à (?:bientôt|demain)',
	'hola', 'buenos días', 'buenas (?:tardes|noches)', '(?:muchas )?gracias', 'adiós', 'hasta (?:luego|mañana)', 'qué tal', 'cómo estás',
	'olá', 'oi', 'bom dia', 'boa (?:tarde|noite)', '(?:muito )?obrigad[oa]', 'valeu', 'tchau', 'tudo (?:bem|certo)', 'como vai',
	'ciao', 'buongiorno', 'buonasera', 'grazie(?: mille)?', 'come stai', 'hoi', 'dank(?:je wel| u wel)', 'bedankt', 'hoe gaat het',
	'こんにちは', 'こんばんは', 'おはよう(?:ございます)?', 'ありがとう(?:ございます|ございました)?', 'どうもありがとう', 'よろしく(?:お願いします)?', 'さようなら', 'おやすみ(?:なさい)?', 'お疲れ様(?:です)?', 'はじめまして', 'お元気ですか',
	'你好', '谢谢', '再见', '안녕하세요', '감사합니다', 'привет', 'спасибо(?: большое)?', 'здравствуйте', 'cześć', 'dziękuję',
];
/** Words that may surround a greeting in small talk ("thanks a lot, that fixed it"). */
export const FILLER = new Set(
	'there all again everyone so very much you a lot guys folks team friend my dear :) bom tudo bien muy mucho beaucoup vielen lieben und and for that help the it fixed worked works now too just wanted to say your earlier today anyone'.split(' '),
);
/** A short turn that starts with one of these, or refers back with one of those, continues the turn before. */
export const FOLLOW_UP_STARTS = [
	'now', 'also', 'and', 'then', 'next', 'but', 'instead', 'what about', 'how about', 'what if', 'ok(?:ay)?,? (?:and|but|now|so)', 'so',
	'jetzt', 'und', 'auch', 'dann', 'aber', 'maintenant', 'et', 'aussi', 'ensuite', 'mais', 'ahora', 'y', 'también', 'luego', 'pero', 'agora', 'e', 'depois', 'mas', 'では', 'じゃあ', '次に',
	'ora', 'adesso', 'poi', 'invece', 'ma', 'en (?:nu|als|dan|ook)', 'nu', 'ook', 'maar', 'teraz', 'a (?:jeśli|co|teraz|gdyby)', 'i (?:jeszcze|teraz)', 'potem', 'ale',
	'теперь', 'а (?:если|теперь)', 'и (?:ещё|еще)', '那', '那么', '然后', '还有', '如果', '그럼', '이제',
];
export const BACK_REFERENCES = [
	'it', 'its', 'that', 'this', 'these', 'those', 'them', 'ones', 'same', 'again', 'too', 'else', 'shorter', 'longer', 'simpler', 'funnier',
	'dies', 'diese', 'nochmal', 'kürzer', 'davon', 'ça', 'cela', 'ceci', 'encore', 'pareil', 'eso', 'esto', 'otra vez', 'isso', 'isto', 'de novo', 'それ', 'これ', 'もっと', 'もう一度',
	// "Make it shorter / more formal" in other languages.
	'make it', 'länger', 'einfacher', 'förmlicher', 'freundlicher', 'mach es', 'plus (?:court|courte|long|longue|simple|formel|poli|chaleureux|drôle)', 'fais-le', 'refais',
	'hazlo', 'más (?:corto|largo|formal|simple|sencillo|amable)', 'lo mismo', 'mais (?:curto|longo|formal|simples)', 'faça isso',
	'più (?:corto|breve|lungo|formale|semplice|gentile)', 'questo', 'questa', 'quello', 'quella', 'di nuovo', 'ancora', 'rendilo', 'fallo',
	'korter', 'langer', 'formeler', 'eenvoudiger', 'nog eens', 'opnieuw', 'krócej', 'dłużej', 'prościej', 'jeszcze raz', 'ponownie', 'to samo',
	'короче', 'ещё раз', 'это', '再', '短一点', '这个', '它', '短く', '다시', '더 짧게',
];
/** ...unless it says it changes the subject. */
export const TOPIC_SWITCHES = [
	'by the way', 'btw', 'unrelated', 'off-topic', 'different (?:topic|question)', 'another question', 'new question', 'quick question', 'quick one', 'never ?mind',
	'übrigens', 'andere frage', 'au fait', 'autre question', 'por cierto', 'otra pregunta', 'a propósito', 'outra pergunta', 'ところで', '話は変わ',
	'a proposito', 'altra domanda', 'cambiando argomento', 'trouwens', 'andere vraag', 'przy okazji', 'inne pytanie', 'swoją drogą', 'кстати', 'другой вопрос',
	'顺便', '换个话题', '另外一个问题', '그런데', '다른 질문',
];
/** System-prompt phrases that make the system prompt describe the task, not a persona. */
export const DIRECTIVES = [
	'(?:output|return|respond|reply|answer)(?: with)? only', 'only (?:output|return|respond|reply|answer)', 'answer with (?:one|a single)', 'reply with one', "the user'?s? (?:message|text|input|request)", 'one of:',
	'you (?:convert|translate|classify|extract|rewrite|detect|turn)', 'you are a (?:translation|classification|extraction) (?:engine|tool|model)', '^(?:translate|classify|extract|summari[sz]e|convert|turn) ',
	'antworte nur', 'gib nur', 'nachricht des (?:nutzers|benutzers)', 'réponds uniquement', "le message de l'utilisateur", 'responde solo', 'el mensaje del usuario', 'responda apenas', 'a mensagem do usuário',
	'のみを出力', 'だけを出力', 'ユーザーのメッセージ',
	'rispondi solo', "il messaggio dell'utente", 'antwoord alleen', 'het bericht van de gebruiker', 'odpowiadaj tylko', 'użytkownika', 'отвечай только', 'сообщение пользователя',
	'只输出', '用户的消息', '用户的请求',
];

/** Function words a reason does not name (they may still count in the model). */
export const STOPWORDS = new Set(
	(
		'the and for with our your you this that these those from into onto about are was were been has have had not but its his her their them they she him who whom which what when where how why can could would should will shall may might must does did done get got just also very than then there here some any all each more most other such own same too only over under again once both few nor off out per via yes '
		+ 'der die das den dem des ein eine einen einem einer und oder aber mit von für auf aus bei nach über unter ist sind war wie was wer wenn dass nicht auch noch nur mir mich dir dich uns euch ihr sie ich '
		+ 'les des une dans pour par sur avec sans qui que quoi est sont mais aussi pas plus moins nous vous ils elles mon ton son mes tes ses leur cette ces '
		+ 'los las una unos unas del para por con sin que qué como cómo pero más muy este esta estos estas ese esa mis tus sus nuestro '
		+ 'uma uns umas dos das para por com sem que como mas mais muito este esta isso isto meu minha seu sua nos nas '
		+ 'della delle degli per con che non come sono'
	).split(' '),
);
