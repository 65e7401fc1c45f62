// The extension itself (out/src/extension.js) with the real vscode-languageclient and the real
// server, in a stand-in extension host (test/support/host.ts).  Where the protocol test checks
// the wire, this checks the wiring: activation, the initializationOptions function, the progress
// middleware feeding the status bar, the providers the client registers and the extension's
// middleware in front of them, the toggle command and deactivation.
//
//   CODELLAMA_LS_COMMAND  the server: an executable path, or a JSON array (executable and arguments)
//   CODELLAMA_LS_MODEL    a GGUF model that answers " return x" to any fill-in-the-middle prompt

import { document, host, InlineCompletionList, mock, openDocument, Position, progressShown, providers } from '../support/host';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Extension from '../../src/extension';
import { packageJson } from '../support/vscode';

const TIMEOUT_MS = 90_000;

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
  process.stdout.write(`[host] ${message}\n`);
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && (value as unknown) !== false) {
      return value;
    }
    check(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function main(): Promise<void> {
  const model = process.env.CODELLAMA_LS_MODEL;
  check(model && fs.existsSync(model), `CODELLAMA_LS_MODEL must name a GGUF file (got ${model})`);
  const raw = process.env.CODELLAMA_LS_COMMAND?.trim() || 'codellama-ls';
  const [executable, ...args] = raw.startsWith('[') ? (JSON.parse(raw) as string[]) : [raw];
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'codellama-host-'));

  // The user's settings.json.
  const user = mock.configuration.global;
  user.set('serverPath', executable);
  user.set('serverArgs', args);
  user.set('model', model);
  user.set('nGpuLayers', 0);
  user.set('nCtx', 2048);
  host.workspace.workspaceFolders = [{ uri: { scheme: 'file', fsPath: workspace }, name: 'w' }];

  const extension = require('../../src/extension') as typeof Extension;
  const subscriptions: Array<{ dispose(): unknown }> = [];
  const api = await extension.activate({ subscriptions, extension: { packageJSON: packageJson } } as never);
  const item = mock.statusBarItems.at(-1)!;
  const seen = new Set<string>([item.text]);
  const watch = setInterval(() => seen.add(item.text), 5);
  try {
    log(`activated; status bar: ${item.text}`);
    await until('the status bar to say ready', () => {
      check(!item.text.startsWith('$(debug-disconnect)'), `the server did not start: ${item.tooltip}`);
      return item.text === '$(check) Code Llama';
    });
    seen.add(item.text);
    log(`status bar went through: ${[...seen].join(' -> ')}`);
    log(`tooltip: ${item.tooltip?.replace(/\n/g, ' | ')}`);
    check(item.tooltip?.includes(path.basename(model)), 'the tooltip names the model');
    check([...seen].some((text) => text.startsWith('$(loading~spin)')), 'the status bar showed loading');
    check(progressShown.length >= 1, 'VS Code\'s own progress UI still got the server\'s progress');
    const status = await api.serverStatus();
    equal([status?.state, status?.n_ctx, status?.gpu_layers], ['ready', 2048, 0], 'server state from the settings');

    // The editor opens a file; the client sends didOpen because it matches the selector.
    const text = 'def f(x):\n    if x:\n\nprint(f(1))\n';
    const doc = document(path.join(workspace, 'f.py'), 'python', text);
    openDocument(doc);
    const inline = providers.get('InlineCompletionItemProvider')?.[0]?.provider;
    const completion = providers.get('CompletionItemProvider')?.[0]?.provider;
    check(inline && completion, `the client registered both providers (got ${[...providers.keys()]})`);
    const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };
    const cursor = new Position(1, 9);
    const ask = () =>
      inline.provideInlineCompletionItems(doc, cursor, { triggerKind: host.InlineCompletionTriggerKind.Automatic }, token) as Promise<
        InlineCompletionList | null | undefined
      >;
    const result = await ask();
    check(result instanceof InlineCompletionList, `inline completion answered a list (got ${JSON.stringify(result)})`);
    equal(
      result.items.map((i) => [i.insertText, i.range?.start, i.range?.end]),
      [[' return x', cursor, cursor]],
      'inline completion through vscode-languageclient',
    );
    log(`inline completion: ${JSON.stringify(result.items[0].insertText)} at ${JSON.stringify(result.items[0].range)}`);

    // The suggest-widget fallback is off by default, on with codellama.completionItems.
    const suggest = () => completion.provideCompletionItems(doc, cursor, { triggerKind: 0 }, token) as Promise<unknown>;
    equal(await suggest(), null, 'no completion items by default');
    user.set('completionItems', true);
    const list = (await suggest()) as {
      items: Array<{ label: unknown; insertText?: string | { value: string }; range?: unknown; keepWhitespace?: boolean }>;
    } | null;
    check(list && list.items.length === 1, `one completion item (got ${JSON.stringify(list)})`);
    // An escaped snippet, inserted with its own indentation (insertTextMode asIs).
    const offered = list.items[0];
    const offeredText = typeof offered.insertText === 'string' ? offered.insertText : offered.insertText?.value;
    equal([offeredText, offered.range, offered.keepWhitespace], [' return x', { start: cursor, end: cursor }, true], 'completion item');

    // Toggle off: the setting is written, the server hears it, the status bar shows it, no more requests.
    await host.commands.executeCommand('codellama.toggle');
    await until('the server to hear enabled=false', async () => (await api.serverStatus())?.settings?.enabled === false);
    equal(item.text, '$(circle-slash) Code Llama', 'status bar when turned off');
    equal(await ask(), null, 'no inline request while turned off');
    await host.commands.executeCommand('codellama.toggle');
    await until('the server to hear enabled=true', async () => (await api.serverStatus())?.settings?.enabled === true);
    const back = await ask();
    check(back instanceof InlineCompletionList && back.items.length === 1, 'completions again after turning on');
    log('toggle off and on reached the server');

    // A model setting: the server reloads, the status bar shows loading, then ready with the new context.
    await host.workspace.getConfiguration('codellama').update('nCtx', 4096, 1);
    await until('the reload with nCtx 4096', async () => {
      const now = await api.serverStatus();
      return now?.state === 'ready' && now.n_ctx === 4096 && item.text === '$(check) Code Llama';
    });
    log('nCtx change reloaded the model');

    // Restart: a new server process with the same settings.
    await host.commands.executeCommand('codellama.restartServer');
    await until('ready after restart', () => item.text === '$(check) Code Llama');
    equal((await api.serverStatus())?.n_ctx, 4096, 'settings after restart');
    log('restart');
  } finally {
    clearInterval(watch);
    await extension.deactivate();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
  equal(await api.serverStatus(), undefined, 'no server after deactivation');
  // Two processes (before and after the restart), each stopped with shutdown and exit.
  const exits = () => mock.output.filter((line) => /Server process exited/.test(line));
  await until('both server processes to exit', () => exits().length >= 2, 10_000);
  equal(exits(), ['Server process exited successfully', 'Server process exited successfully'], 'server exit status');
  log('deactivated; both server processes exited with status 0');
}

const timer = setTimeout(() => {
  process.stderr.write(`host test: no result after ${TIMEOUT_MS / 1000}s\n${mock.output.slice(-40).join('\n')}\n`);
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
    process.stderr.write(`host test FAILED: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.stderr.write(`--- Code Llama output channel (last 40 lines) ---\n${mock.output.slice(-40).join('\n')}\n`);
    process.exit(1);
  },
);
