// Lints a code snippet under a file name of the repository with one rule of eslint.config.js. The names do not
// exist, so the type-aware parser cannot place them in the TypeScript project: only syntax and import rules, which
// need no type information, can be tested this way.
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A function answering the messages of rule `ruleId` for `code` placed at `filePath` (relative to the repository). */
export function ruleMessages(ruleId: string): (filePath: string, code: string) => Promise<string[]> {
  const eslint = new ESLint({
    cwd: root,
    overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
    ruleFilter: (rule) => rule.ruleId === ruleId,
  });
  return async (filePath, code) => {
    const [result] = await eslint.lintText(`${code}\nexport {};\n`, { filePath: `${root}/${filePath}` });
    if (!result) throw new Error(`no lint result for ${filePath}`);
    const fatal = result.messages.filter((m) => m.fatal);
    if (fatal.length > 0) throw new Error(`${filePath} did not parse: ${fatal.map((m) => m.message).join('; ')}`);
    return result.messages.filter((m) => m.ruleId === ruleId).map((m) => m.message);
  };
}
