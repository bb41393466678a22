/**
 * Errors of the domain layer. Plain classes with no Node dependencies, so workflows can throw and catch them too.
 */

/**
 * The caller gave us something we cannot use. `issues` lists every problem found, each one line that starts with
 * the field path (`policy.migration.timeout: ...`), so a user can fix all of them in one go.
 * Retrying never helps: workflows should turn this into a non-retryable failure (match on `name`).
 */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
  readonly issues: string[];

  constructor(issues: string[] | string) {
    const list = typeof issues === 'string' ? [issues] : issues;
    super(summarizeIssues(list));
    this.issues = list;
  }
}

function summarizeIssues(issues: string[]): string {
  if (issues.length === 1) return issues[0] ?? '';
  return `${issues.length} problems in the input:\n${issues.map((issue) => `- ${issue}`).join('\n')}`;
}
