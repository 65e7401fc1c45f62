// Protocol-level test: the real codellama-ls, driven the way the extension drives it.
//
//   CODELLAMA_LS_COMMAND  the server: an executable path, or a JSON array (executable and arguments)
//   CODELLAMA_LS_MODEL    a GGUF model that answers " return x" to any fill-in-the-middle prompt
//
// What is real here: the client capabilities (computed by vscode-languageclient itself), the
// initializationOptions and didChangeConfiguration settings (built by the extension's settings
// module from VS Code-style settings), the server command (the extension's serverPath logic),
// and the status bar text (the extension's status module fed with the server's $/progress and
// codellama/status answers).  Exits 0 when every check passes.

import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CompletionList,
  CompletionRequest,
  CompletionTriggerKind,
  createMessageConnection,
  DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeParams,
  InitializeRequest,
  InlineCompletionList,
  InlineCompletionRequest,
  InlineCompletionTriggerKind,
  MessageConnection,
  Position,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  TextDocumentSyncKind,
  WorkDoneProgress,
  WorkDoneProgressCreateRequest,
} from 'vscode-languageserver-protocol/node';
import { isSupported } from '../../src/languages';
import { changedSettings, contributedDefaults, explicitSettings, serverCommand, serverKeys } from '../../src/settings';
import { present, ProgressValue, ServerStatus, STATUS_PARAMS, STATUS_REQUEST, StatusTracker } from '../../src/status';
import { vscodeClientCapabilities, VSCODE_VERSION } from '../support/capabilities';
import { FakeConfiguration } from '../support/fakeConfig';
import { packageJson } from '../support/vscode';

const TIMEOUT_MS = 90_000;
const EXPECTED = ' return x';

function fail(message: string): never {
  throw new Error(message);
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) {
    fail(message);
  }
}

function equal(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  check(a === e, `${what}: expected ${e}, got ${a}`);
}

function log(message: string): void {
  process.stdout.write(`[protocol] ${message}\n`);
}

function commandFromEnv(): string[] {
  const raw = process.env.CODELLAMA_LS_COMMAND?.trim() || 'codellama-ls';
  if (raw.startsWith('[')) {
    const parsed: unknown = JSON.parse(raw);
    check(Array.isArray(parsed) && parsed.length > 0 && parsed.every((p) => typeof p === 'string'), 'CODELLAMA_LS_COMMAND: a JSON array of strings');
    return parsed as string[];
  }
  return [raw];
}

/** The text without the marker, and the marker's UTF-16 position. */
function withCursor(source: string, marker = '█'): { text: string; position: Position } {
  const index = source.indexOf(marker);
  const text = source.slice(0, index) + source.slice(index + marker.length);
  const before = source.slice(0, index).split('\n');
  return { text, position: { line: before.length - 1, character: before[before.length - 1].length } };
}

async function main(): Promise<void> {
  const model = process.env.CODELLAMA_LS_MODEL;
  check(model && fs.existsSync(model), `CODELLAMA_LS_MODEL must name a GGUF file (got ${model})`);
  const [executable, ...extraArgs] = commandFromEnv();
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'codellama-vscode-'));
  const context = { home: os.homedir(), workspaceFolder: workspace };

  // VS Code settings as a user would write them in settings.json.
  const defaults = contributedDefaults(packageJson);
  const keys = serverKeys(packageJson);
  const settings = new FakeConfiguration(defaults, {
    serverPath: executable,
    serverArgs: extraArgs,
    model,
    nGpuLayers: 0,
    nCtx: 2048,
    maxTokens: 32,
  });
  const initializationOptions = explicitSettings(settings.view(), keys, context);
  equal(initializationOptions, { model, nGpuLayers: 0, nCtx: 2048, maxTokens: 32 }, 'initializationOptions');
  const command = serverCommand(settings.view(), context);
  log(`server: ${[command.command, ...command.args].join(' ')}`);

  const capabilities = vscodeClientCapabilities();
  check(capabilities.textDocument?.inlineCompletion, 'vscode-languageclient announces textDocument.inlineCompletion');
  equal(capabilities.window?.workDoneProgress, true, 'window.workDoneProgress');
  equal(capabilities.general?.positionEncodings, ['utf-16'], 'general.positionEncodings');

  const server = cp.spawn(command.command, command.args, { cwd: command.cwd, env: process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr.setEncoding('utf8');
  server.stderr.on('data', (chunk: string) => {
    stderr += chunk;
    if (process.env.CODELLAMA_LS_PROTOCOL_VERBOSE) {
      process.stderr.write(chunk);
    }
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    server.on('exit', (code) => resolve(code));
    server.on('error', reject);
  });

  const connection: MessageConnection = createMessageConnection(
    new StreamMessageReader(server.stdout),
    new StreamMessageWriter(server.stdin),
  );
  const tracker = new StatusTracker(true);
  tracker.setConnection('starting');
  const progress: ProgressValue[] = [];
  const texts = new Set<string>();
  const messages: string[] = [];
  const unexpected: string[] = [];
  const note = () => {
    texts.add(present(tracker.snapshot).text);
  };

  // What vscode-languageclient does on window/workDoneProgress/create: listen to that token.
  connection.onRequest(WorkDoneProgressCreateRequest.type, (params) => {
    connection.onProgress(WorkDoneProgress.type, params.token, (value) => {
      progress.push(value as ProgressValue);
      tracker.onProgress(value as ProgressValue);
      note();
    });
  });
  connection.onRequest('client/registerCapability', () => null);
  connection.onRequest((method) => {
    unexpected.push(method);
    return null;
  });
  connection.onNotification('window/showMessage', (params: { message: string }) => {
    messages.push(params.message);
  });
  connection.onNotification('window/logMessage', () => undefined);
  connection.onNotification('$/logTrace', () => undefined);
  connection.listen();

  try {
    const initParams: InitializeParams = {
      processId: process.pid,
      clientInfo: { name: 'Visual Studio Code', version: VSCODE_VERSION },
      locale: 'en',
      rootPath: workspace,
      rootUri: pathToFileURL(workspace).href,
      capabilities,
      initializationOptions,
      trace: 'off',
      workspaceFolders: [{ uri: pathToFileURL(workspace).href, name: path.basename(workspace) }],
    };
    const result = await connection.sendRequest(InitializeRequest.type, initParams);
    const caps = result.capabilities;
    check(caps.inlineCompletionProvider, 'the server offers inline completion');
    check(caps.completionProvider, 'the server offers completion');
    // vscode-languageclient refuses a server that picks anything but UTF-16.
    check(caps.positionEncoding === undefined || caps.positionEncoding === 'utf-16', `position encoding ${caps.positionEncoding}`);
    const sync = caps.textDocumentSync;
    const syncKind = typeof sync === 'number' ? sync : sync?.change;
    equal(syncKind, TextDocumentSyncKind.Incremental, 'text document sync');
    log(`initialized ${result.serverInfo?.name} ${result.serverInfo?.version}`);
    await connection.sendNotification(InitializedNotification.type, {});
    tracker.setConnection('running');
    note();

    // Wait for the model the way the status bar does: ask codellama/status until it settles.
    const queryStatus = async () => {
      const status = await connection.sendRequest<ServerStatus>(STATUS_REQUEST, STATUS_PARAMS);
      tracker.onStatus(status);
      note();
      return status;
    };
    const deadline = Date.now() + 60_000;
    let status = await queryStatus();
    while (!tracker.settled && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = await queryStatus();
    }
    equal(status.state, 'ready', `model state (error: ${status.error})`);
    equal(status.model, path.resolve(model), 'the model from initializationOptions');
    equal(status.fim, true, 'fill-in-the-middle model');
    equal(status.gpu_layers, 0, 'nGpuLayers from initializationOptions');
    equal(status.n_ctx, 2048, 'nCtx from initializationOptions');
    equal(status.position_encoding, 'utf-16', 'position encoding');
    const kinds = progress.map((value) => value.kind);
    check(kinds[0] === 'begin' && kinds[kinds.length - 1] === 'end', `progress begin ... end, got ${kinds.join(',')}`);
    for (const value of progress) {
      check(value.percentage === undefined || (value.percentage >= 0 && value.percentage <= 100), `percentage ${value.percentage}`);
    }
    check([...texts].some((text) => text.startsWith('$(loading~spin) Code Llama')), `status bar showed loading: ${[...texts]}`);
    equal(present(tracker.snapshot).text, '$(check) Code Llama', 'status bar when ready');
    log(`ready: ${present(tracker.snapshot).tooltip.replace(/\n/g, ' | ')}`);
    log(`status bar went through: ${[...texts].join(' -> ')}`);

    // A document as VS Code opens it, and the two requests VS Code makes.
    const uri = pathToFileURL(path.join(workspace, 'f.py')).href;
    check(isSupported('python', 'file'), 'python documents are in the selector');
    // The cursor after "if x:", where " return x" makes valid Python with its leading space.
    const { text, position } = withCursor('def f(x):\n    if x:█\n\nprint(f(1))\n');
    await connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: 'python', version: 1, text },
    });
    const inline = await connection.sendRequest(InlineCompletionRequest.type, {
      textDocument: { uri },
      position,
      context: { triggerKind: InlineCompletionTriggerKind.Automatic },
    });
    check(inline !== null, 'inline completion answered');
    const items = Array.isArray(inline) ? inline : (inline as InlineCompletionList).items;
    equal(items.map((item) => item.insertText), [EXPECTED], 'inline completion text');
    equal(items[0].range, { start: position, end: position }, 'inline completion range');
    log(`inline completion: ${JSON.stringify(items[0])}`);

    const completion = await connection.sendRequest(CompletionRequest.type, {
      textDocument: { uri },
      position,
      context: { triggerKind: CompletionTriggerKind.Invoked },
    });
    check(completion !== null && !Array.isArray(completion), 'completion answers a CompletionList');
    const list = completion as CompletionList;
    check(list.items.length === 1, `one completion item, got ${list.items.length}`);
    const edit = list.items[0].textEdit;
    check(edit && 'range' in edit, 'completion item has a TextEdit');
    equal(edit.newText, EXPECTED, 'completion text');
    equal(edit.range, { start: position, end: position }, 'completion range');
    log(`completion: label ${JSON.stringify(list.items[0].label)}, edit ${JSON.stringify(edit)}`);

    // Typing: an incremental change before the cursor ("if x:" -> "if not x:"); the next request is
    // answered for the new text at the moved cursor.
    const insertAt = { line: position.line, character: position.character - 2 };
    await connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version: 2 },
      contentChanges: [{ range: { start: insertAt, end: insertAt }, text: 'not ' }],
    });
    const typed = { line: position.line, character: position.character + 4 };
    const again = (await connection.sendRequest(InlineCompletionRequest.type, {
      textDocument: { uri },
      position: typed,
      context: { triggerKind: InlineCompletionTriggerKind.Invoked },
    })) as InlineCompletionList;
    equal(again.items.map((item) => [item.insertText, item.range]), [[EXPECTED, { start: typed, end: typed }]], 'after typing');

    // A settings change as the extension sends it: maxTokens changed, nCtx removed since start.
    settings.global.set('maxTokens', 16);
    settings.global.delete('nCtx');
    const payload = changedSettings(initializationOptions, explicitSettings(settings.view(), keys, context), defaults);
    equal(payload, { model, nGpuLayers: 0, maxTokens: 16, nCtx: 4096 }, 'didChangeConfiguration settings');
    const endsBefore = progress.filter((value) => value.kind === 'end').length;
    await connection.sendNotification(DidChangeConfigurationNotification.type, { settings: payload });
    status = await queryStatus();
    equal(status.settings?.max_tokens, 16, 'maxTokens after didChangeConfiguration');
    equal(status.settings?.n_ctx, 4096, 'nCtx back to its default after removal');
    // nCtx changed, so the server loads the model again, reported as progress like the first time.
    const reloadDeadline = Date.now() + 60_000;
    while (progress.filter((value) => value.kind === 'end').length === endsBefore && Date.now() < reloadDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    status = await queryStatus();
    equal([status.state, status.n_ctx], ['ready', 4096], 'model reloaded with the new context size');
    const reloaded = (await connection.sendRequest(InlineCompletionRequest.type, {
      textDocument: { uri },
      position: typed,
      context: { triggerKind: InlineCompletionTriggerKind.Invoked },
    })) as InlineCompletionList;
    equal(reloaded.items.map((item) => item.insertText), [EXPECTED], 'completion after the reload');
    log('settings change applied, model reloaded');

    check(unexpected.length === 0, `unexpected requests from the server: ${unexpected.join(', ')}`);
    check(messages.length === 0, `the server complained: ${messages.join(' | ')}`);

    await connection.sendRequest(ShutdownRequest.type);
    await connection.sendNotification(ExitNotification.type);
    const code = await Promise.race([
      exited,
      new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), 15_000)),
    ]);
    equal(code, 0, 'exit status after shutdown and exit');
    log('shutdown, exit 0');
  } catch (error) {
    process.stderr.write(`--- server stderr (last 4000 chars) ---\n${stderr.slice(-4000)}\n`);
    throw error;
  } finally {
    connection.dispose();
    if (server.exitCode === null) {
      server.kill();
    }
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

const timer = setTimeout(() => {
  process.stderr.write(`protocol test: no result after ${TIMEOUT_MS / 1000}s\n`);
  process.exit(2);
}, TIMEOUT_MS);

main().then(
  () => {
    clearTimeout(timer);
    log('PASS');
    process.exit(0);
  },
  (error: unknown) => {
    clearTimeout(timer);
    process.stderr.write(`protocol test FAILED: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
