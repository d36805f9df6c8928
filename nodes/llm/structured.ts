/**
 * Structured output: checking the user's JSON schema, reading JSON out of a model's answer,
 * and validating it against the schema (the subset of JSON Schema that structured-output APIs use).
 */
import { InputError } from './errors';

type Schema = Record<string, unknown>;
const TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'];

function isObject(value: unknown): value is Schema {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Walks every sub-schema, reporting the first thing that is not a schema. */
function schemaProblem(schema: unknown, path: string): string | undefined {
	if (typeof schema === 'boolean') return undefined;
	if (!isObject(schema)) return `${path} must be an object`;
	const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
	for (const t of types) if (!TYPES.includes(t as string)) return `${path}.type "${String(t)}" is not one of ${TYPES.join(', ')}`;
	if (schema.properties !== undefined) {
		if (!isObject(schema.properties)) return `${path}.properties must be an object`;
		for (const [key, sub] of Object.entries(schema.properties)) {
			const problem = schemaProblem(sub, `${path}.properties.${key}`);
			if (problem) return problem;
		}
	}
	if (schema.required !== undefined && !(Array.isArray(schema.required) && schema.required.every((r) => typeof r === 'string'))) {
		return `${path}.required must be an array of property names`;
	}
	if (schema.enum !== undefined && !Array.isArray(schema.enum)) return `${path}.enum must be an array`;
	if (schema.items !== undefined) return schemaProblem(schema.items, `${path}.items`);
	for (const key of ['anyOf', 'oneOf', 'allOf']) {
		if (schema[key] === undefined) continue;
		if (!Array.isArray(schema[key])) return `${path}.${key} must be an array of schemas`;
		for (const [i, sub] of (schema[key] as unknown[]).entries()) {
			const problem = schemaProblem(sub, `${path}.${key}[${i}]`);
			if (problem) return problem;
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
	const problem = schemaProblem(parsed, 'schema');
	if (problem) throw new InputError(field, `The JSON schema is invalid: ${problem}.`);
	return { schema: parsed, name };
}

/** Reads JSON from a model's answer, tolerating a ```json fence around it. */
export function parseJsonAnswer(text: string): { ok: true; value: unknown } | { ok: false; problem: string } {
	const fenced = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/i.exec(text);
	const body = (fenced ? fenced[1] : text).trim();
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

function resolveRef(ref: string, root: Schema): Schema | undefined {
	const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
	const defs = match ? root[match[1]] : undefined;
	return match && isObject(defs) && isObject(defs[match[2]]) ? (defs[match[2]] as Schema) : undefined;
}

/** Problems of `value` against `schema` (empty when it matches). Stops after a few. */
export function validateAgainstSchema(value: unknown, schema: unknown, path = '$', root = schema as Schema): string[] {
	if (schema === true || !isObject(schema)) return [];
	if (typeof schema.$ref === 'string') {
		const target = resolveRef(schema.$ref, root);
		return target ? validateAgainstSchema(value, target, path, root) : [];
	}
	const problems: string[] = [];
	const actual = typeOf(value);
	const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
	if (types.length && !types.some((t) => t === actual || (t === 'number' && actual === 'integer'))) {
		return [`${path} should be ${types.join(' or ')}, got ${actual}`];
	}
	if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
		problems.push(`${path} should be one of ${JSON.stringify(schema.enum)}`);
	}
	if ('const' in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) problems.push(`${path} should be ${JSON.stringify(schema.const)}`);
	for (const key of ['anyOf', 'oneOf'] as const) {
		const options = schema[key];
		if (Array.isArray(options) && !options.some((s) => validateAgainstSchema(value, s, path, root).length === 0)) {
			problems.push(`${path} matches none of the allowed shapes`);
		}
	}
	if (Array.isArray(schema.allOf)) for (const s of schema.allOf) problems.push(...validateAgainstSchema(value, s, path, root));
	if (actual === 'object') {
		const obj = value as Record<string, unknown>;
		const props = isObject(schema.properties) ? schema.properties : {};
		for (const key of Array.isArray(schema.required) ? (schema.required as string[]) : []) {
			if (!(key in obj)) problems.push(`${path}.${key} is required`);
		}
		for (const [key, sub] of Object.entries(obj)) {
			if (key in props) problems.push(...validateAgainstSchema(sub, props[key], `${path}.${key}`, root));
			else if (schema.additionalProperties === false) problems.push(`${path}.${key} is not allowed`);
			else if (isObject(schema.additionalProperties)) problems.push(...validateAgainstSchema(sub, schema.additionalProperties, `${path}.${key}`, root));
		}
	}
	if (actual === 'array' && schema.items !== undefined) {
		(value as unknown[]).forEach((item, i) => problems.push(...validateAgainstSchema(item, schema.items, `${path}[${i}]`, root)));
	}
	return problems.slice(0, 5);
}
