// Protocol-level test of next-edit suggestions: the server driven the way the extension drives it,
// with vscode-languageclient's capabilities and the extension's next-edit module (src/nextEdit.ts)
// building the requests and choosing what to show.  After a parameter is renamed, the server
// proposes the change of its next use; the client applies it as VS Code would (a didChange) and
// says Accepted; an answer for a version the document has left is not used; the following one it
// dismisses (Rejected, the document unchanged).
//
//   CODELLAMA_LS_COMMAND  the server: a JSON array (executable and arguments) whose model renames
//                         `width` to `size` at its next use, logging at info level to stderr
//                         ("next edit <id> shown: <uri>", ...)
//   CODELLAMA_LS_INIT     initializationOptions as JSON (what turns next edits on)

import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createMessageConnection,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  MessageConnection,
  Range,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-languageserver-protocol/node';
import {
  NEXT_EDIT_ACCEPTED,
  NEXT_EDIT_REJECTED,
  NEXT_EDIT_REQUEST,
  NEXT_EDIT_SHOWN,
  NextEdit,
  nextEditParams,
  pickEdit,
} from '../../src/nextEdit';
import { STATUS_PARAMS, STATUS_REQUEST, ServerStatus } from '../../src/status';
import { vscodeClientCapabilities, VSCODE_VERSION } from '../support/capabilities';

const TIMEOUT_MS = 90_000;
const SOURCE = 'def area(width, height):\n    total = width * height\n    print(width)\n    return total\n';

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

function log(message: string): void {
  process.stdout.write(`[next-edit] ${message}\n`);
}

/** The client's copy of the document, kept as VS Code keeps it. */
class Document {
  version = 1;
  constructor(
    readonly uri: string,
    public text: string,
  ) {}
  private offset(line: number, character: number): number {
    const lines = this.text.split('\n');
    return lines.slice(0, line).reduce((sum, l) => sum + l.length + 1, 0) + character;
  }
  lineLength(line: number): number | undefined {
    const lines = this.text.split('\n');
    return line < lines.length ? lines[line].length : undefined;
  }
  /** Apply an edit; return the didChange params for it. */
  replace(range: Range, text: string) {
    const start = this.offset(range.start.line, range.start.character);
    const end = this.offset(range.end.line, range.end.character);
    this.text = this.text.slice(0, start) + text + this.text.slice(end);
    this.version += 1;
    return { textDocument: { uri: this.uri, version: this.version }, contentChanges: [{ range, text }] };
  }
}

async function main(): Promise<void> {
  const raw = process.env.CODELLAMA_LS_COMMAND ?? '';
  check(raw.startsWith('['), 'CODELLAMA_LS_COMMAND: a JSON array');
  const [executable, ...args] = JSON.parse(raw) as string[];
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'codellama-next-edit-'));
  const server = cp.spawn(executable, args, { cwd: workspace, env: process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr.setEncoding('utf8');
  server.stderr.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
  const connection: MessageConnection = createMessageConnection(
    new StreamMessageReader(server.stdout),
    new StreamMessageWriter(server.stdin),
  );
  connection.onRequest(() => null);
  connection.onNotification(() => undefined);
  connection.listen();
  const serverSaid = async (text: string) => {
    const deadline = Date.now() + 10_000;
    while (!stderr.includes(text) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return stderr.includes(text);
  };

  try {
    await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      clientInfo: { name: 'Visual Studio Code', version: VSCODE_VERSION },
      rootUri: pathToFileURL(workspace).href,
      capabilities: vscodeClientCapabilities(),
      initializationOptions: JSON.parse(process.env.CODELLAMA_LS_INIT || '{}'),
      workspaceFolders: [{ uri: pathToFileURL(workspace).href, name: 'w' }],
    });
    await connection.sendNotification(InitializedNotification.type, {});
    const deadline = Date.now() + 60_000;
    for (;;) {
      const status = await connection.sendRequest<ServerStatus>(STATUS_REQUEST, STATUS_PARAMS);
      if (status.state === 'ready') break;
      check(status.state !== 'failed' && Date.now() < deadline, `the model did not load: ${JSON.stringify(status)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const doc = new Document(pathToFileURL(path.join(workspace, 'area.py')).href, SOURCE);
    await connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri: doc.uri, languageId: 'python', version: doc.version, text: doc.text },
    });
    const ask = async (line: number, character: number): Promise<unknown> =>
      connection.sendRequest(NEXT_EDIT_REQUEST, nextEditParams(doc.uri, doc.version, { line, character }));
    const change = (range: Range, text: string) =>
      connection.sendNotification(DidChangeTextDocumentNotification.type, doc.replace(range, text));
    const asRange = (edit: NextEdit): Range => edit.range;

    // 1. Rename the parameter: the next use is proposed, for this version.
    await change({ start: { line: 0, character: 9 }, end: { line: 0, character: 14 } }, 'size');
    let result = await ask(0, 10);
    let edit = pickEdit(result, doc.uri, doc.version, (line) => doc.lineLength(line));
    check(edit, `no usable edit after the rename: ${JSON.stringify(result)}`);
    equal([edit.range, edit.text], [{ start: { line: 1, character: 12 }, end: { line: 1, character: 17 } }, 'size'], 'the edit');
    await connection.sendNotification(NEXT_EDIT_SHOWN, { id: edit.id });
    check(await serverSaid(`next edit ${edit.id} shown`), 'Shown did not reach the server');

    // 2. Accepted: applied as VS Code applies an edit, then told.
    await change(asRange(edit), edit.text);
    await connection.sendNotification(NEXT_EDIT_ACCEPTED, { id: edit.id });
    equal(doc.text.split('\n')[1], '    total = size * height', 'the accepted line');
    check(await serverSaid(`next edit ${edit.id} accepted`), 'Accepted did not reach the server');
    log(`accepted ${edit.id}`);

    // 3. The document moves on while the server computes: whatever it answers is not used.
    const asked = doc.version;
    const pending = ask(1, 16);
    await change({ start: { line: 4, character: 0 }, end: { line: 4, character: 0 } }, '# typed\n');
    result = await pending;
    const stale = pickEdit(result, doc.uri, doc.version, (line) => doc.lineLength(line));
    equal(stale, undefined, `an answer for version ${asked} at version ${doc.version}`);
    log(`an answer asked at version ${asked} is not used at ${doc.version}: ${JSON.stringify(result)}`);
    await change({ start: { line: 4, character: 0 }, end: { line: 5, character: 0 } }, '');

    // 4. The following one, dismissed: Rejected, and the document stays.
    result = await ask(1, 13);
    edit = pickEdit(result, doc.uri, doc.version, (line) => doc.lineLength(line));
    check(edit, `no following edit: ${JSON.stringify(result)}`);
    equal(edit.range.start, { line: 2, character: 10 }, 'the following edit');
    const before = doc.text;
    await connection.sendNotification(NEXT_EDIT_SHOWN, { id: edit.id });
    await connection.sendNotification(NEXT_EDIT_REJECTED, { id: edit.id });
    check(await serverSaid(`next edit ${edit.id} rejected`), 'Rejected did not reach the server');
    equal(doc.text, before, 'the document after dismissing');
    log(`rejected ${edit.id}`);

    await connection.sendRequest(ShutdownRequest.type);
    await connection.sendNotification(ExitNotification.type);
    const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), 15_000))]);
    equal(code, 0, 'exit status after shutdown and exit');
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
  process.stderr.write(`next-edit protocol test: no result after ${TIMEOUT_MS / 1000}s\n`);
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
    process.stderr.write(`next-edit protocol test FAILED: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
