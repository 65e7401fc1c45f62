// A tiny stand-in for the `vscode` module: just what the extension touches, recording what it does.
// Importing this file installs it, so import it before anything that imports `vscode`.

import * as fs from 'node:fs';
import Module = require('node:module');
import * as path from 'node:path';
import { FakeConfiguration } from './fakeConfig';

export const PACKAGE_DIR = path.resolve(__dirname, '..', '..', '..');
export const packageJson = JSON.parse(fs.readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8'));

type Listener<T> = (value: T) => void;

export class EventEmitter<T> {
  private listeners: Array<Listener<T>> = [];
  readonly event = (listener: Listener<T>) => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };
  fire(value: T): void {
    for (const listener of [...this.listeners]) {
      listener(value);
    }
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export interface FakeStatusBarItem {
  id: string;
  alignment: number;
  priority: number;
  name?: string;
  text: string;
  tooltip?: string;
  command?: string;
  backgroundColor?: ThemeColor;
  visible: boolean;
  disposed: boolean;
  show(): void;
  hide(): void;
  dispose(): void;
}

export interface Shown {
  kind: 'info' | 'error' | 'warning' | 'input';
  message: string;
  items: string[];
}

function defaultsFromPackage(): Map<string, unknown> {
  const defaults = new Map<string, unknown>();
  for (const [name, schema] of Object.entries<{ default?: unknown }>(packageJson.contributes.configuration.properties)) {
    defaults.set(name.replace(/^codellama\./, ''), schema.default);
  }
  return defaults;
}

export function createVscode() {
  const configuration = new FakeConfiguration(defaultsFromPackage());
  const statusBarItems: FakeStatusBarItem[] = [];
  const commands = new Map<string, (...args: unknown[]) => unknown>();
  const executed: Array<{ command: string; args: unknown[] }> = [];
  const shown: Shown[] = [];
  const output: string[] = [];
  const configurationChanged = new EventEmitter<{ affectsConfiguration(section: string): boolean }>();
  const documentChanged = new EventEmitter<unknown>();
  const activeEditorChanged = new EventEmitter<unknown>();
  /** Decoration types created, with their options. */
  const decorationTypes: Array<{ options: unknown; disposed: boolean; dispose(): void }> = [];
  /** What the next message box answers (undefined: dismissed). */
  let answer: string | undefined;

  configuration.onUpdate = (key) => {
    configurationChanged.fire({
      affectsConfiguration: (section: string) => section === 'codellama' || section === `codellama.${key}`,
    });
  };

  const message =
    (kind: Shown['kind']) =>
    async (text: string, ...items: unknown[]) => {
      shown.push({ kind, message: text, items: items.filter((i): i is string => typeof i === 'string') });
      return answer;
    };

  const vscode = {
    version: '1.105.0',
    env: { appName: 'Visual Studio Code', language: 'en' },
    StatusBarAlignment: { Left: 1, Right: 2 },
    ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
    ThemeColor,
    EventEmitter,
    window: {
      activeTextEditor: undefined as unknown,
      onDidChangeActiveTextEditor: activeEditorChanged.event,
      createTextEditorDecorationType(options: unknown) {
        const type = { options, disposed: false, dispose: () => void (type.disposed = true) };
        decorationTypes.push(type);
        return type;
      },
      createStatusBarItem(id: string, alignment: number, priority: number): FakeStatusBarItem {
        const item: FakeStatusBarItem = {
          id,
          alignment,
          priority,
          text: '',
          visible: false,
          disposed: false,
          show: () => void (item.visible = true),
          hide: () => void (item.visible = false),
          dispose: () => void (item.disposed = true),
        };
        statusBarItems.push(item);
        return item;
      },
      createOutputChannel(name: string) {
        const log = (line: string) => void output.push(line);
        return {
          name,
          logLevel: 2,
          append: log,
          appendLine: log,
          info: log,
          warn: log,
          error: log,
          debug: log,
          trace: log,
          onDidChangeLogLevel: new EventEmitter<number>().event,
          show: () => void executed.push({ command: 'output.show', args: [name] }),
          hide: () => undefined,
          clear: () => undefined,
          replace: log,
          dispose: () => undefined,
        };
      },
      showInputBox: async (options: { prompt?: string; title?: string }) => {
        shown.push({ kind: 'input', message: options.title ?? options.prompt ?? '', items: [] });
        return answer;
      },
      showInformationMessage: message('info'),
      showWarningMessage: message('warning'),
      showErrorMessage: message('error'),
      setStatusBarMessage: (text: string) => {
        shown.push({ kind: 'info', message: text, items: [] });
        return { dispose: () => undefined };
      },
    },
    workspace: {
      workspaceFolders: undefined as Array<{ uri: { scheme: string; fsPath: string }; name: string }> | undefined,
      getConfiguration(section: string, scope?: { languageId?: string }) {
        if (section !== 'codellama') {
          return new FakeConfiguration().view(); // other extensions' settings: all unset
        }
        return configuration.view(scope?.languageId);
      },
      onDidChangeConfiguration: configurationChanged.event,
      onDidChangeTextDocument: documentChanged.event,
    },
    commands: {
      registerCommand(command: string, callback: (...args: unknown[]) => unknown) {
        if (commands.has(command)) {
          throw new Error(`command ${command} registered twice`);
        }
        commands.set(command, callback);
        return { dispose: () => commands.delete(command) };
      },
      async executeCommand(command: string, ...args: unknown[]) {
        executed.push({ command, args });
        return commands.get(command)?.(...args);
      },
    },
  };

  return {
    vscode,
    configuration,
    statusBarItems,
    commands,
    executed,
    shown,
    output,
    documentChanged,
    activeEditorChanged,
    decorationTypes,
    answerNext(value: string | undefined) {
      answer = value;
    },
  };
}

export type VscodeMock = ReturnType<typeof createVscode>;

export const mock: VscodeMock = createVscode();

/** Modules served instead of the real ones: `vscode` always, others as a test registers them. */
export const replacements = new Map<string, unknown>([['vscode', mock.vscode]]);

type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;
const moduleWithLoad = Module as unknown as { _load: Loader };
const originalLoad = moduleWithLoad._load;
moduleWithLoad._load = function (request: string, parent: unknown, isMain: boolean) {
  if (replacements.has(request)) {
    return replacements.get(request);
  }
  return originalLoad.call(this, request, parent, isMain);
};
