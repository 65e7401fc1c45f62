// Which documents the server completes.  Pure: no `vscode` import.

/** VS Code language ids the server has prompts and grammars for. */
export const LANGUAGES: readonly string[] = [
  'python',
  'javascript',
  'javascriptreact',
  'typescript',
  'typescriptreact',
  'go',
  'rust',
  'c',
  'cpp',
  'java',
  'lua',
  'shellscript',
  'ruby',
  'php',
  'csharp',
];

/** Saved files and new unsaved editors; not git diffs, output panes or other virtual documents. */
export const SCHEMES: readonly string[] = ['file', 'untitled'];

export interface LanguageFilter {
  language: string;
  scheme: string;
}

export function documentSelector(
  languages: readonly string[] = LANGUAGES,
  schemes: readonly string[] = SCHEMES,
): LanguageFilter[] {
  const selector: LanguageFilter[] = [];
  for (const language of languages) {
    for (const scheme of schemes) {
      selector.push({ language, scheme });
    }
  }
  return selector;
}

export function activationEvents(languages: readonly string[] = LANGUAGES): string[] {
  return languages.map((language) => `onLanguage:${language}`);
}

export function isSupported(languageId: string, scheme: string): boolean {
  return LANGUAGES.includes(languageId) && SCHEMES.includes(scheme);
}
