// Glue between VS Code and codellama-ls.  The decisions live in the pure modules
// (settings, status, languages); this file wires them to the editor and the client.

import * as os from 'node:os';
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  LanguageClientOptions,
  Middleware,
  ServerOptions,
  State,
} from 'vscode-languageclient/node';
import { editWithInstruction, PROMPT_COMMAND } from './actions';
import { documentSelector } from './languages';
import { NextEditClient, NextEditController } from './nextEditController';
import {
  changedSettings,
  contributedDefaults,
  Context,
  explicitSettings,
  RESTART_KEYS,
  SECTION,
  serverCommand,
  serverKeys,
  Settings,
  toggleTarget,
} from './settings';
import { describe, ServerStatus, STATUS_PARAMS, STATUS_REQUEST } from './status';
import { SHOW_STATUS_COMMAND, StatusBar } from './statusBar';

const CLIENT_ID = 'codellama';
const CLIENT_NAME = 'Code Llama';

function context(): Context {
  const folder = vscode.workspace.workspaceFolders?.[0];
  return { home: os.homedir(), workspaceFolder: folder?.uri.scheme === 'file' ? folder.uri.fsPath : undefined };
}

function config(scope?: vscode.ConfigurationScope): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION, scope);
}

function enabledFor(document: vscode.TextDocument): boolean {
  return config(document).get<boolean>('enabled') !== false;
}

/** Next edits are asked for unless switched off (the server's `nextEdit` setting decides what it proposes). */
function nextEditsFor(document: vscode.TextDocument): boolean {
  return enabledFor(document) && config(document).get<boolean>('nextEdit') !== false;
}

export class CodeLlamaExtension implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private readonly output: vscode.LogOutputChannel;
  private readonly status: StatusBar;
  private readonly keys: string[];
  private readonly defaults: Map<string, unknown>;
  /** The initializationOptions the running server got. */
  private sentAtStart: Settings = {};
  private readonly disposables: vscode.Disposable[] = [];
  private clientSubscription: vscode.Disposable | undefined;

  constructor(packageJson: unknown) {
    this.keys = serverKeys(packageJson);
    this.defaults = contributedDefaults(packageJson);
    this.output = vscode.window.createOutputChannel(CLIENT_NAME, { log: true });
    this.status = new StatusBar(config().get<boolean>('enabled') !== false);
    this.disposables.push(
      this.output,
      this.status,
      vscode.commands.registerCommand('codellama.restartServer', () => this.restart()),
      vscode.commands.registerCommand('codellama.toggle', () => this.toggle()),
      vscode.commands.registerCommand(SHOW_STATUS_COMMAND, () => this.showStatus()),
      vscode.commands.registerCommand('codellama.showLog', () => this.output.show(true)),
      vscode.commands.registerCommand(PROMPT_COMMAND, (args: unknown) => editWithInstruction(this.client, args)),
      vscode.workspace.onDidChangeConfiguration((event) => this.onConfigurationChanged(event)),
      new NextEditController(() => this.nextEditClient(), nextEditsFor),
    );
  }

  /** The client, while it runs, for next-edit requests. */
  private nextEditClient(): NextEditClient | undefined {
    const client = this.client;
    return client !== undefined && client.isRunning() ? client : undefined;
  }

  /** The settings the server gets now. */
  serverSettings(): Settings {
    return explicitSettings(config(), this.keys, context());
  }

  async start(): Promise<void> {
    const command = serverCommand(config(), context());
    if (command.problem !== undefined) {
      this.status.tracker.setConnection('stopped', command.problem);
      this.status.render();
      void this.reportStartFailure(command.command, command.problem);
      return;
    }
    const serverOptions: ServerOptions = {
      command: command.command,
      args: command.args,
      options: { cwd: command.cwd, env: process.env },
    };
    const middleware: Middleware = {
      provideInlineCompletionItems: (document, position, inlineContext, token, next) =>
        enabledFor(document) ? next(document, position, inlineContext, token) : null,
      // The suggest-widget fallback repeats the ghost text; only when asked for.
      provideCompletionItem: (document, position, completionContext, token, next) =>
        config(document).get<boolean>('completionItems') === true && enabledFor(document)
          ? next(document, position, completionContext, token)
          : null,
      handleWorkDoneProgress: (token, params, next) => {
        this.status.tracker.onProgress(params);
        this.status.render();
        if (params.kind !== 'report') {
          void this.status.refresh();
        }
        next(token, params);
      },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: documentSelector(),
      // A function: evaluated again on every (re)start of the server.
      initializationOptions: () => {
        this.sentAtStart = this.serverSettings();
        return this.sentAtStart;
      },
      outputChannel: this.output,
      middleware,
    };
    const client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
    this.client = client;
    this.status.tracker.setConnection('starting');
    this.status.render();
    this.clientSubscription?.dispose();
    this.clientSubscription = client.onDidChangeState((event) => {
      if (this.client !== client) {
        return;
      }
      if (event.newState === State.Running) {
        this.status.tracker.setConnection('running');
        this.status.setQuery(() => client.sendRequest<ServerStatus>(STATUS_REQUEST, STATUS_PARAMS));
        void this.status.refresh();
      } else {
        this.status.setQuery(undefined);
        this.status.tracker.setConnection(event.newState === State.Starting ? 'starting' : 'stopped');
      }
      this.status.render();
    });
    try {
      await client.start();
    } catch (error) {
      if (this.client !== client) {
        return;
      }
      const reason = error instanceof Error ? error.message : String(error);
      this.status.setQuery(undefined);
      this.status.tracker.setConnection('stopped', `Could not start ${command.command}: ${reason}`);
      this.status.render();
      void this.reportStartFailure(command.command, reason);
    }
  }

  private async reportStartFailure(command: string, reason: string): Promise<void> {
    const open = 'Open Settings';
    const log = 'Show Log';
    const choice = await vscode.window.showErrorMessage(
      `Code Llama: could not start the server "${command}" (${reason}). Install codellama-ls ` +
        '(pip install . in its repository) or set codellama.serverPath to the codellama-ls executable.',
      open,
      log,
    );
    if (choice === open) {
      await vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.serverPath`);
    } else if (choice === log) {
      this.output.show(true);
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.status.setQuery(undefined);
    this.clientSubscription?.dispose();
    this.clientSubscription = undefined;
    if (client !== undefined) {
      try {
        if (client.needsStop()) {
          await client.stop(5000);
        }
      } catch (error) {
        this.output.warn(`stopping the server: ${String(error)}`);
      }
    }
  }

  /** The server's `codellama/status` answer; undefined while no server runs. */
  async serverStatus(): Promise<ServerStatus | undefined> {
    const client = this.client;
    if (client === undefined || !client.isRunning()) {
      return undefined;
    }
    return client.sendRequest<ServerStatus>(STATUS_REQUEST, STATUS_PARAMS);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async toggle(): Promise<void> {
    const section = config();
    const enabled = section.get<boolean>('enabled') !== false;
    const target = toggleTarget(section.inspect<boolean>('enabled'));
    const targets = {
      global: vscode.ConfigurationTarget.Global,
      workspace: vscode.ConfigurationTarget.Workspace,
      workspaceFolder: vscode.ConfigurationTarget.WorkspaceFolder,
    };
    await section.update('enabled', !enabled, targets[target]);
    vscode.window.setStatusBarMessage(`Code Llama completions ${enabled ? 'off' : 'on'}`, 3000);
  }

  async showStatus(): Promise<void> {
    await this.status.refresh();
    const snapshot = this.status.tracker.snapshot;
    const phase = this.status.tracker.phase;
    const actions = [snapshot.enabled ? 'Turn Off' : 'Turn On', 'Restart Server', 'Show Log'];
    const message = describe(snapshot);
    const choice =
      phase === 'failed' || phase === 'stopped'
        ? await vscode.window.showErrorMessage(message, ...actions)
        : await vscode.window.showInformationMessage(message, ...actions);
    if (choice === actions[0]) {
      await this.toggle();
    } else if (choice === actions[1]) {
      await this.restart();
    } else if (choice === actions[2]) {
      this.output.show(true);
    }
  }

  private onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (!event.affectsConfiguration(SECTION)) {
      return;
    }
    this.status.tracker.setEnabled(config().get<boolean>('enabled') !== false);
    this.status.render();
    if (RESTART_KEYS.some((key) => event.affectsConfiguration(`${SECTION}.${key}`))) {
      void this.restart();
      return;
    }
    const client = this.client;
    if (client === undefined || !client.needsStop()) {
      return; // not running or starting: the next start sends the settings as initializationOptions
    }
    // While the client is starting, sendNotification waits until the server is initialized.
    const settings = changedSettings(this.sentAtStart, this.serverSettings(), this.defaults);
    client.sendNotification(DidChangeConfigurationNotification.type, { settings }).then(
      () => this.status.refresh(),
      (error) => this.output.warn(`sending the settings: ${String(error)}`),
    );
  }

  async dispose(): Promise<void> {
    await this.stop();
    for (const disposable of this.disposables.splice(0)) {
      disposable.dispose();
    }
  }
}

let extension: CodeLlamaExtension | undefined;

/** What `activate` returns: other extensions (and the tests) can ask for the server's state. */
export interface CodeLlamaApi {
  serverStatus(): Promise<ServerStatus | undefined>;
}

export async function activate(context: vscode.ExtensionContext): Promise<CodeLlamaApi> {
  const current = new CodeLlamaExtension(context.extension.packageJSON);
  extension = current;
  context.subscriptions.push({ dispose: () => void current.dispose() });
  await current.start();
  return { serverStatus: () => current.serverStatus() };
}

export async function deactivate(): Promise<void> {
  const current = extension;
  extension = undefined;
  await current?.dispose();
}
