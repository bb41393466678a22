// Request bodies are documented from the domain's zod schemas, the same ones that validate them, so the two agree.
import { z } from 'zod';
import type { JsonSchema } from './json.js';

/** The JSON schema of what a client sends (`io: 'input'`: fields with defaults are optional). */
export function requestSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}
