/** Kubernetes object name rules (apimachinery's DNS-1123 validation), with messages that say what is allowed. */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Node, Secret and most object names: DNS-1123 subdomain, at most 253 characters. */
export function isDnsSubdomain(name: string): boolean {
  return name.length <= 253 && DNS1123_SUBDOMAIN.test(name);
}

/** Namespace names: DNS-1123 label, at most 63 characters. */
export function isDnsLabel(name: string): boolean {
  return name.length <= 63 && DNS1123_LABEL.test(name);
}

/** Why `name` is not a valid `kind` name (sentence without field path), or undefined when it is valid. */
export function nameProblem(name: string, kind: 'node' | 'namespace' | 'secret'): string | undefined {
  const label = kind === 'namespace';
  const max = label ? 63 : 253;
  if (label ? isDnsLabel(name) : isDnsSubdomain(name)) return undefined;
  const shown = JSON.stringify(name.length > 60 ? `${name.slice(0, 57)}...` : name);
  if (name === '') return `must not be empty`;
  if (name.length > max) return `${shown} is longer than ${max} characters`;
  const allowed = label ? 'lowercase letters, digits and "-"' : 'lowercase letters, digits, "-" and "."';
  const lower = name.toLowerCase();
  const hint =
    lower !== name && (label ? isDnsLabel(lower) : isDnsSubdomain(lower)) ? ` (did you mean "${lower}"?)` : '';
  return `${shown} is not a valid ${kind} name: use ${allowed}, starting and ending with a letter or digit${hint}`;
}
