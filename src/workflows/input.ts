// Workflow inputs are validated by the domain's parsers; a bad one ends the run at once, before anything changes.
import { ApplicationFailure } from '@temporalio/workflow';
import { InvalidInputError } from '../domain/errors.js';

/** Runs a domain parser; its InvalidInputError becomes a non-retryable `InvalidInput` failure listing every issue. */
export function parseOrFail<T>(parse: (input: unknown) => T, input: unknown): T {
  try {
    return parse(input);
  } catch (e) {
    if (e instanceof InvalidInputError) {
      throw ApplicationFailure.create({
        type: 'InvalidInput',
        message: e.message,
        nonRetryable: true,
        details: [e.issues],
      });
    }
    throw e;
  }
}
