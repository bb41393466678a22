/**
 * Builders for the JSON schemas of response bodies. Fastify serializes every response with its schema
 * (fast-json-stringify), which drops any property a schema does not list: so every object here is open
 * (`additionalProperties: true`), and a field the service adds later still reaches the client. The type parameters
 * tie each schema to the TypeScript type the service returns: a field added, removed or made optional there and not
 * here fails the type check, so the OpenAPI document cannot drift from what is sent.
 */

export type JsonSchema = Record<string, unknown>;

/** A property the type marks optional (`?`): documented, and not in `required`. */
export interface Optional {
  optional: JsonSchema;
}

/** One schema per property of T; optional properties of T must be wrapped in `optional(...)`, the others must not. */
export type Fields<T> = {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  [K in keyof T]-?: {} extends Pick<T, K> ? Optional : JsonSchema;
};

const isOptional = (field: JsonSchema | Optional): field is Optional => 'optional' in field;

export function object<T>(fields: Fields<T>, description?: string): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [key, field] of Object.entries(fields) as [string, JsonSchema | Optional][]) {
    if (isOptional(field)) properties[key] = field.optional;
    else {
      properties[key] = field;
      required.push(key);
    }
  }
  return {
    type: 'object',
    ...(description && { description }),
    properties,
    ...(required.length > 0 && { required }),
    additionalProperties: true,
  };
}

export const optional = (schema: JsonSchema): Optional => ({ optional: schema });

/** Numbers are `number`, never `integer`: the serializer would truncate a fraction to fit `integer`. */
export const number = (description?: string): JsonSchema => ({ type: 'number', ...(description && { description }) });
export const text = (description?: string): JsonSchema => ({ type: 'string', ...(description && { description }) });
export const time = (description?: string): JsonSchema => ({ ...text(description), format: 'date-time' });
export const flag = (description?: string): JsonSchema => ({ type: 'boolean', ...(description && { description }) });
export const list = (items: JsonSchema, description?: string): JsonSchema => ({
  type: 'array',
  items,
  ...(description && { description }),
});
/** Any JSON object (a value the API passes through without a fixed shape). */
export const anyObject = (description?: string): JsonSchema => ({
  type: 'object',
  additionalProperties: true,
  ...(description && { description }),
});

/** A string union; the record form makes the compiler check that every member of T is listed, and only those. */
export function oneOf<T extends string>(members: Record<T, true>, description?: string): JsonSchema {
  return { type: 'string', enum: Object.keys(members), ...(description && { description }) };
}
