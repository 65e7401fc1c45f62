// Protocol-level test of alternatives: an explicit inline request gets several items, which VS Code
// cycles through itself (Alt+] / Alt+[ and the hover toolbar's "1/3"); an automatic one gets one.
//
//   CODELLAMA_LS_COMMAND  the scripted server (tests/support/scripted_server.py) as a JSON array,
//                         run with SCRIPTED_ALTERNATIVES, the texts it answers, most likely first
//
// The client capabilities are vscode-languageclient's own.  Exits 0 when every check passes.

import * as cp from 'node:child_process';
import {
  createMessageConnection,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  InlineCompletionList,
  InlineCompletionRequest,
  InlineCompletionTriggerKind,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-languageserver-protocol/node';
import { STATUS_PARAMS, STATUS_REQUEST, ServerStatus } from '../../src/status';
import { vscodeClientCapabilities, VSCODE_VERSION } from '../support/capabilities';

function check(condition: unknown, message: string): asserts condition {
  if (!condition) {
    throw new Error(message);
  }
}

function equal(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  check(a === e, `${what}: expected ${e}, got ${a}`);
}

async function main(): Promise<void> {
  const command: string[] = JSON.parse(process.env.CODELLAMA_LS_COMMAND ?? '[]');
  const texts: string[] = JSON.parse(process.env.SCRIPTED_ALTERNATIVES ?? '[]');
  check(command.length > 0 && texts.length >= 3, 'CODELLAMA_LS_COMMAND and SCRIPTED_ALTERNATIVES');
  const server = cp.spawn(command[0], command.slice(1), { env: process.env, stdio: ['pipe', 'pipe', 'inherit'] });
  const connection = createMessageConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
  connection.onRequest(() => null);
  connection.onNotification(() => undefined);
  connection.listen();
  try {
    const capabilities = vscodeClientCapabilities();
    check(capabilities.textDocument?.inlineCompletion, 'vscode-languageclient announces inline completion');
    await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      clientInfo: { name: 'Visual Studio Code', version: VSCODE_VERSION },
      rootUri: null,
      capabilities,
      workspaceFolders: null,
    });
    await connection.sendNotification(InitializedNotification.type, {});
    const deadline = Date.now() + 30_000;
    while ((await connection.sendRequest<ServerStatus>(STATUS_REQUEST, STATUS_PARAMS)).state !== 'ready') {
      check(Date.now() < deadline, 'the server did not get ready');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const uri = 'file:///tmp/alternatives.py';
    await connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: 'python', version: 1, text: 'def f(a, b):\n    \n' },
    });
    const position = { line: 1, character: 4 };
    const ask = async (triggerKind: InlineCompletionTriggerKind) =>
      (await connection.sendRequest(InlineCompletionRequest.type, {
        textDocument: { uri },
        position,
        context: { triggerKind, selectedCompletionInfo: undefined },
      })) as InlineCompletionList;
    const invoked = await ask(InlineCompletionTriggerKind.Invoked);
    equal(invoked.items.map((item) => item.insertText), texts.slice(0, 3), 'an explicit request: three items');
    for (const item of invoked.items) {
      equal(item.range, { start: position, end: position }, 'each item replaces the same range');
    }
    const automatic = await ask(InlineCompletionTriggerKind.Automatic);
    equal(automatic.items.map((item) => item.insertText), texts.slice(0, 1), 'an automatic request: one item');
    await connection.sendRequest(ShutdownRequest.type);
    await connection.sendNotification(ExitNotification.type);
  } finally {
    connection.dispose();
    if (server.exitCode === null) {
      server.kill();
    }
  }
}

main().then(
  () => {
    process.stdout.write('[alternatives] PASS\n');
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(`alternatives test FAILED: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
