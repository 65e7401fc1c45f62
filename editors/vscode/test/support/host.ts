// Enough of the VS Code extension host for the real vscode-languageclient to run the extension:
// the value classes its converters build (Position, Range, InlineCompletionItem, ...), document
// events, `languages.match`, provider registration (captured, so a test can call the providers
// as the editor would), and `window.withProgress`.  Anything else the client touches is a
// do-nothing stub.  Extends the unit-test stand-in, so import this instead of ./vscode.

import { stub, withStubs } from './stub';
import { EventEmitter, mock, replacements } from './vscode';

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly fsPath: string,
    private readonly text: string,
  ) {}
  static file(fsPath: string): Uri {
    return new Uri('file', fsPath, `file://${encodeURI(fsPath)}`);
  }
  static parse(value: string): Uri {
    const scheme = value.slice(0, value.indexOf(':'));
    return new Uri(scheme, scheme === 'file' ? decodeURI(value.replace(/^file:\/\//, '')) : '', value);
  }
  get path(): string {
    return this.fsPath;
  }
  toString(): string {
    return this.text;
  }
  toJSON(): string {
    return this.text;
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Selection {
  constructor(
    readonly anchor: Position,
    readonly active: Position,
  ) {}
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  get isEmpty(): boolean {
    return this.start.line === this.end.line && this.start.character === this.end.character;
  }
  constructor(start: Position | number, end: Position | number, endLine?: number, endCharacter?: number) {
    if (typeof start === 'number') {
      this.start = new Position(start, end as number);
      this.end = new Position(endLine as number, endCharacter as number);
    } else {
      this.start = start;
      this.end = end as Position;
    }
  }
}

export class SnippetString {
  constructor(readonly value: string) {}
}

export class MarkdownString {
  constructor(
    public value = '',
    public supportThemeIcons = false,
  ) {}
  appendText(text: string): this {
    this.value += text;
    return this;
  }
  appendMarkdown(text: string): this {
    this.value += text;
    return this;
  }
  appendCodeblock(code: string, language = ''): this {
    this.value += `\n\`\`\`${language}\n${code}\n\`\`\`\n`;
    return this;
  }
}

export class TextEdit {
  constructor(
    readonly range: Range,
    readonly newText: string,
  ) {}
}

export class InlineCompletionItem {
  filterText?: string;
  constructor(
    readonly insertText: string | SnippetString,
    readonly range?: Range,
    readonly command?: unknown,
  ) {}
}

export class InlineCompletionList {
  constructor(readonly items: InlineCompletionItem[]) {}
}

export class CompletionItem {
  [key: string]: unknown;
  constructor(
    public label: unknown,
    public kind?: number,
  ) {}
}

export class CompletionList {
  constructor(
    readonly items: CompletionItem[] = [],
    readonly isIncomplete = false,
  ) {}
}

export class Disposable {
  constructor(private readonly callback: () => void) {}
  static from(...disposables: Array<{ dispose(): unknown }>): Disposable {
    return new Disposable(() => disposables.forEach((d) => d.dispose()));
  }
  dispose(): void {
    this.callback();
  }
}

export class CancellationError extends Error {}

export class CancellationTokenSource {
  private readonly cancelled = new EventEmitter<void>();
  readonly token = {
    isCancellationRequested: false,
    onCancellationRequested: this.cancelled.event,
  };
  cancel(): void {
    this.token.isCancellationRequested = true;
    this.cancelled.fire();
  }
  dispose(): void {}
}

export interface FakeDocument {
  uri: Uri;
  fileName: string;
  languageId: string;
  version: number;
  isClosed: boolean;
  isUntitled: boolean;
  isDirty: boolean;
  eol: number;
  lineCount: number;
  getText(): string;
}

export function document(fsPath: string, languageId: string, text: string, version = 1): FakeDocument {
  return {
    uri: Uri.file(fsPath),
    fileName: fsPath,
    languageId,
    version,
    isClosed: false,
    isUntitled: false,
    isDirty: false,
    eol: 1,
    lineCount: text.split('\n').length,
    getText: () => text,
  };
}

interface Filter {
  language?: string;
  scheme?: string;
  pattern?: unknown;
}

function match(selector: Array<Filter | string> | Filter | string, doc: FakeDocument): number {
  const filters = Array.isArray(selector) ? selector : [selector];
  let best = 0;
  for (const filter of filters) {
    const f: Filter = typeof filter === 'string' ? { language: filter } : filter;
    if (f.language !== undefined && f.language !== '*' && f.language !== doc.languageId) continue;
    if (f.scheme !== undefined && f.scheme !== '*' && f.scheme !== doc.uri.scheme) continue;
    best = Math.max(best, f.language === doc.languageId ? 10 : 5);
  }
  return best;
}

/** Providers registered through `vscode.languages`, by kind. */
export const providers = new Map<string, Array<{ selector: unknown; provider: Record<string, (...args: unknown[]) => unknown> }>>();
/** `window.withProgress` calls: title and the reports VS Code's progress UI got. */
export const progressShown: Array<{ title?: string; reports: Array<{ message?: string; increment?: number }> }> = [];

const documentOpened = new EventEmitter<FakeDocument>();
const documentClosed = new EventEmitter<FakeDocument>();
const openDocuments: FakeDocument[] = [];

export function openDocument(doc: FakeDocument): void {
  openDocuments.push(doc);
  documentOpened.fire(doc);
}

export function closeDocument(doc: FakeDocument): void {
  openDocuments.splice(openDocuments.indexOf(doc), 1);
  doc.isClosed = true;
  documentClosed.fire(doc);
}

const base = mock.vscode;
const languages = withStubs('vscode.languages', {
  match,
  createDiagnosticCollection: () => stub('diagnostics'),
});
// Every register*Provider call is captured.
const capturing = new Proxy(languages, {
  get(target, property) {
    if (typeof property === 'string' && property.startsWith('register')) {
      return (selector: unknown, provider: Record<string, (...args: unknown[]) => unknown>) => {
        const kind = property.slice('register'.length);
        const list = providers.get(kind) ?? [];
        const entry = { selector, provider };
        list.push(entry);
        providers.set(kind, list);
        return new Disposable(() => list.splice(list.indexOf(entry), 1));
      };
    }
    return Reflect.get(target, property);
  },
});

export const host = withStubs('vscode', {
  ...base,
  Uri,
  Position,
  Range,
  Selection,
  SnippetString,
  MarkdownString,
  TextEdit,
  InlineCompletionItem,
  InlineCompletionList,
  CompletionItem,
  CompletionList,
  Disposable,
  CancellationError,
  CancellationTokenSource,
  InlineCompletionTriggerKind: { Invoke: 0, Automatic: 1 },
  CompletionTriggerKind: { Invoke: 0, TriggerCharacter: 1, TriggerForIncompleteCompletions: 2 },
  CompletionItemKind: { Text: 0, Method: 1, Function: 2, Constructor: 3, Field: 4, Variable: 5, Class: 6 },
  CompletionItemTag: { Deprecated: 1 },
  LogLevel: { Off: 0, Trace: 1, Debug: 2, Info: 3, Warning: 4, Error: 5 },
  ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
  languages: capturing,
  window: withStubs('vscode.window', {
    ...base.window,
    visibleTextEditors: [],
    onDidChangeVisibleTextEditors: new EventEmitter<unknown>().event,
    async withProgress<R>(options: { title?: string }, task: (progress: unknown, token: unknown) => Promise<R>): Promise<R> {
      const shown = { title: options.title, reports: [] as Array<{ message?: string; increment?: number }> };
      progressShown.push(shown);
      const token = new CancellationTokenSource().token;
      return task({ report: (value: { message?: string; increment?: number }) => shown.reports.push(value) }, token);
    },
  }),
  workspace: withStubs('vscode.workspace', {
    ...base.workspace,
    textDocuments: openDocuments,
    notebookDocuments: [],
    onDidOpenTextDocument: documentOpened.event,
    onDidCloseTextDocument: documentClosed.event,
    onDidSaveTextDocument: new EventEmitter<unknown>().event,
    onWillSaveTextDocument: new EventEmitter<unknown>().event,
    onDidChangeWorkspaceFolders: new EventEmitter<unknown>().event,
  }),
});

replacements.set('vscode', host);
export { mock };
