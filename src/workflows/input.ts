// Workflow inputs are validated by the domain's parsers; a bad one ends the run at once, before anything changes.
import { InvalidInputError } from '../domain/errors.js';
import { FAILURE_TYPES } from '../domain/workflowNames.js';
import { workflowFailure } from './failures.js';

/** Runs a domain parser; its InvalidInputError becomes a non-retryable `InvalidInput` failure listing every issue. */
export function parseOrFail<T>(parse: (input: unknown) => T, input: unknown): T {
  try {
    return parse(input);
  } catch (e) {
    if (e instanceof InvalidInputError) throw workflowFailure(FAILURE_TYPES.invalidInput, e.message, [e.issues]);
    throw e;
  }
}
