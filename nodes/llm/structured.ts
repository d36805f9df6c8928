/**
 * Structured output: checking the user's JSON schema, reading JSON out of a model's answer,
 * and validating it against the schema (the subset of JSON Schema that structured-output APIs use).
 */
import { InputError } from './errors';

type Schema = Record<string, unknown>;
const TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'];
/** Deepest schema (when checked) or value (when validated) handled; deeper is a problem, never a stack overflow. */
const MAX_DEPTH = 100;

function isObject(value: unknown): value is Schema {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sub-schemas a value is checked against without going into it: a loop of only these never ends. */
const SAME_VALUE_KEYS = ['anyOf', 'oneOf', 'allOf'] as const;

/** Every sub-schema with its path, as the walk below reports them. */
type SchemaPaths = Map<Schema, string>;

/** Walks every sub-schema, recording its path and reporting the first thing that is not a schema. */
function schemaProblem(schema: unknown, path: string, paths: SchemaPaths, depth = 0): string | undefined {
	if (typeof schema === 'boolean') return undefined;
	if (!isObject(schema)) return `${path} must be an object`;
	if (depth > MAX_DEPTH) return `${path} is nested too deeply (more than ${MAX_DEPTH} levels)`;
	paths.set(schema, path);
	const sub = (value: unknown, subPath: string) => schemaProblem(value, subPath, paths, depth + 1);
	const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
	for (const t of types) if (!TYPES.includes(t as string)) return `${path}.type "${String(t)}" is not one of ${TYPES.join(', ')}`;
	for (const key of ['properties', '$defs', 'definitions']) {
		if (schema[key] === undefined) continue;
		if (!isObject(schema[key])) return `${path}.${key} must be an object`;
		for (const [name, value] of Object.entries(schema[key] as Schema)) {
			const problem = sub(value, `${path}.${key}.${name}`);
			if (problem) return problem;
		}
	}
	if (schema.required !== undefined && !(Array.isArray(schema.required) && schema.required.every((r) => typeof r === 'string'))) {
		return `${path}.required must be an array of property names`;
	}
	if (schema.enum !== undefined && !Array.isArray(schema.enum)) return `${path}.enum must be an array`;
	if (schema.$ref !== undefined && typeof schema.$ref !== 'string') return `${path}.$ref must be a string`;
	for (const key of ['items', 'additionalProperties']) {
		const problem = isObject(schema[key]) ? sub(schema[key], `${path}.${key}`) : undefined;
		if (problem) return problem;
	}
	for (const key of SAME_VALUE_KEYS) {
		if (schema[key] === undefined) continue;
		if (!Array.isArray(schema[key])) return `${path}.${key} must be an array of schemas`;
		for (const [i, value] of (schema[key] as unknown[]).entries()) {
			const problem = sub(value, `${path}.${key}[${i}]`);
			if (problem) return problem;
		}
	}
	return undefined;
}

/** What a `$ref` inside the schema points at: "#" or a JSON pointer such as "#/$defs/address". Own properties only. */
function resolveRef(ref: string, root: Schema): unknown {
	if (ref !== '#' && !ref.startsWith('#/')) return undefined;
	let target: unknown = root;
	for (const raw of ref === '#' ? [] : ref.slice(2).split('/')) {
		let key: string;
		try {
			key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
		} catch {
			return undefined;
		}
		if (!(isObject(target) || Array.isArray(target)) || !Object.hasOwn(target, key)) return undefined;
		target = (target as Record<string, unknown>)[key];
	}
	return isObject(target) || typeof target === 'boolean' ? target : undefined;
}

/** The schemas a value is checked against next without going into the value, each with the path of its edge. */
function sameValueEdges(schema: Schema, paths: SchemaPaths, root: Schema): Array<{ to: unknown; via: string }> {
	const path = paths.get(schema) ?? '';
	if (typeof schema.$ref === 'string') return [{ to: resolveRef(schema.$ref, root), via: `${path}.$ref` }];
	return SAME_VALUE_KEYS.flatMap((key) => (Array.isArray(schema[key]) ? (schema[key] as unknown[]).map((to, i) => ({ to, via: `${path}.${key}[${i}]` })) : [])).filter(
		(edge) => isObject(edge.to),
	);
}

/**
 * The first `$ref` that cannot be resolved, or that closes a loop which never goes into the value
 * ({"$ref": "#"}, two $defs referring to each other, an anyOf containing itself): validating
 * against it would recurse forever. Loops through properties or items are fine (data ends).
 * An iterative depth-first search, so a long chain of references cannot overflow the stack.
 */
function refProblem(root: Schema, paths: SchemaPaths): string | undefined {
	for (const [schema, path] of paths) {
		if (typeof schema.$ref === 'string' && resolveRef(schema.$ref, root) === undefined) {
			return `${path}.$ref "${schema.$ref}" points at nothing in the schema (only references inside it, such as "#/$defs/name", are supported)`;
		}
	}
	const done = new Set<unknown>();
	for (const start of paths.keys()) {
		if (done.has(start)) continue;
		const onPath = new Set<unknown>([start]);
		const stack = [{ schema: start, edges: sameValueEdges(start, paths, root), next: 0 }];
		while (stack.length) {
			const top = stack[stack.length - 1];
			const edge = top.edges[top.next++];
			if (!edge) {
				onPath.delete(top.schema);
				done.add(top.schema);
				stack.pop();
				continue;
			}
			if (onPath.has(edge.to)) return `${edge.via} loops back to ${paths.get(edge.to as Schema) ?? 'itself'} without reading any data, so it could never be checked`;
			if (done.has(edge.to) || !isObject(edge.to)) continue;
			onPath.add(edge.to);
			stack.push({ schema: edge.to, edges: sameValueEdges(edge.to, paths, root), next: 0 });
		}
	}
	return undefined;
}

/**
 * Checks a user's JSON schema (object or JSON text). Also accepts OpenAI's wrapper
 * `{"name": ..., "schema": {...}}`, returning the name it carries.
 */
export function checkSchema(value: unknown, field = 'jsonSchema'): { schema: Schema; name?: string } {
	let parsed = value;
	if (typeof value === 'string') {
		try {
			parsed = JSON.parse(value);
		} catch (err) {
			throw new InputError(field, `The JSON schema is not valid JSON: ${(err as Error).message}`);
		}
	}
	let name: string | undefined;
	if (isObject(parsed) && isObject(parsed.schema) && parsed.type === undefined) {
		name = typeof parsed.name === 'string' ? parsed.name : undefined;
		parsed = parsed.schema;
	}
	if (!isObject(parsed) || Object.keys(parsed).length === 0) {
		throw new InputError(field, 'The JSON schema must be a non-empty object, e.g. {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}.');
	}
	const paths: SchemaPaths = new Map();
	const problem = schemaProblem(parsed, 'schema', paths) ?? refProblem(parsed, paths);
	if (problem) throw new InputError(field, `The JSON schema is invalid: ${problem}.`);
	return { schema: parsed, name };
}

/**
 * Reads JSON from a model's answer, tolerating a ```json fence around it. Plain string work, so
 * linear whatever the model sends (the regular expression it replaces backtracked: 5 s for a
 * fence followed by 2,500 newlines, 57 s for one followed by 5,000 spaces and a letter).
 */
export function parseJsonAnswer(text: string): { ok: true; value: unknown } | { ok: false; problem: string } {
	let body = text.trim();
	if (body.length >= 6 && body.startsWith('```') && body.endsWith('```')) {
		body = body.slice(3, -3);
		if (/^json/i.test(body)) body = body.slice(4);
		body = body.trim();
	}
	if (!body) return { ok: false, problem: 'the answer was empty' };
	try {
		return { ok: true, value: JSON.parse(body) };
	} catch (err) {
		return { ok: false, problem: `the answer is not valid JSON (${(err as Error).message})` };
	}
}

function typeOf(value: unknown): string {
	if (value === null) return 'null';
	if (Array.isArray(value)) return 'array';
	if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
	return typeof value;
}

/** JSON equality for enum and const, depth-bounded (JSON.stringify overflows the stack on deep values). */
function equalJson(a: unknown, b: unknown, depth = 0): boolean {
	if (a === b) return true;
	if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || depth > MAX_DEPTH) return false;
	if (Array.isArray(a) !== Array.isArray(b)) return false;
	const keys = Object.keys(a);
	return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && equalJson((a as Schema)[k], (b as Schema)[k], depth + 1));
}

/** A schema value as JSON for a message, shortened; one too deep to write out is named as such. */
function shortJson(value: unknown): string {
	try {
		const json = JSON.stringify(value);
		return json.length > 200 ? `${json.slice(0, 200)}...` : json;
	} catch {
		return '(a value nested too deeply to show)';
	}
}

/** Problems of `value` against `schema` (empty when it matches). Stops after a few. */
export function validateAgainstSchema(value: unknown, schema: unknown): string[] {
	return validate(value, schema, '$', schema as Schema, 0);
}

/**
 * Every step (into the value, through a $ref, anyOf, oneOf or allOf) counts towards MAX_DEPTH, so
 * neither deep data nor a schema that loops (checkSchema refuses those, but the engine may be
 * handed one directly) can overflow the stack. Only own properties count: "toString" is not
 * present in {}, and "__proto__" or "constructor" are not declared properties.
 */
function validate(value: unknown, schema: unknown, path: string, root: Schema, depth: number): string[] {
	if (schema === true || !isObject(schema)) return [];
	if (depth > MAX_DEPTH) return [`${path} is nested too deeply (more than ${MAX_DEPTH} levels), or the schema loops without reading any data`];
	const next = (v: unknown, s: unknown, p = path) => validate(v, s, p, root, depth + 1);
	if (typeof schema.$ref === 'string') return next(value, resolveRef(schema.$ref, root));
	const problems: string[] = [];
	const actual = typeOf(value);
	const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
	if (types.length && !types.some((t) => t === actual || (t === 'number' && actual === 'integer'))) {
		return [`${path} should be ${types.join(' or ')}, got ${actual}`];
	}
	if (Array.isArray(schema.enum) && !schema.enum.some((e) => equalJson(e, value))) {
		problems.push(`${path} should be one of ${shortJson(schema.enum)}`);
	}
	if (Object.hasOwn(schema, 'const') && !equalJson(schema.const, value)) problems.push(`${path} should be ${shortJson(schema.const)}`);
	for (const key of ['anyOf', 'oneOf'] as const) {
		const options = schema[key];
		if (Array.isArray(options) && !options.some((s) => next(value, s).length === 0)) {
			problems.push(`${path} matches none of the allowed shapes`);
		}
	}
	if (Array.isArray(schema.allOf)) for (const s of schema.allOf) problems.push(...next(value, s));
	if (actual === 'object') {
		const obj = value as Record<string, unknown>;
		const props = isObject(schema.properties) ? schema.properties : {};
		for (const key of Array.isArray(schema.required) ? (schema.required as string[]) : []) {
			if (!Object.hasOwn(obj, key)) problems.push(`${path}.${key} is required`);
		}
		for (const [key, sub] of Object.entries(obj)) {
			if (Object.hasOwn(props, key)) problems.push(...next(sub, props[key], `${path}.${key}`));
			else if (schema.additionalProperties === false) problems.push(`${path}.${key} is not allowed`);
			else if (isObject(schema.additionalProperties)) problems.push(...next(sub, schema.additionalProperties, `${path}.${key}`));
		}
	}
	if (actual === 'array' && schema.items !== undefined) {
		(value as unknown[]).forEach((item, i) => problems.push(...next(item, schema.items, `${path}[${i}]`)));
	}
	return problems.slice(0, 5);
}
