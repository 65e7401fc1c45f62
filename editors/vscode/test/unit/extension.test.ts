import { mock, packageJson } from '../support/vscode';
import { FakeLanguageClient } from '../support/fakeClient';
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { activate, deactivate } from '../../src/extension';

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

function fakeContext() {
  return { subscriptions: [] as Array<{ dispose(): unknown }>, extension: { packageJSON: packageJson } };
}

async function activated(): Promise<FakeLanguageClient> {
  await activate(fakeContext() as never);
  await settle();
  return FakeLanguageClient.instances.at(-1)!;
}

beforeEach(() => {
  FakeLanguageClient.instances = [];
  FakeLanguageClient.startError = undefined;
  FakeLanguageClient.statuses = [{ state: 'ready', model_name: 'Test', model: '/m.gguf', fim: true, n_ctx: 2048, gpu_layers: 0 }];
  mock.configuration.global.clear();
  mock.configuration.workspace.clear();
  mock.configuration.languages.clear();
  mock.configuration.updates.length = 0;
  mock.shown.length = 0;
  mock.answerNext(undefined);
});

afterEach(async () => {
  await deactivate();
});

test('activation starts codellama-ls on stdio with the settings the user set', async () => {
  mock.configuration.global.set('model', '/models/m.gguf');
  mock.configuration.global.set('maxLines', 3);
  const client = await activated();
  assert.equal(client.id, 'codellama');
  assert.deepEqual(client.serverOptions.command, 'codellama-ls');
  assert.deepEqual(client.serverOptions.args, []);
  assert.deepEqual(client.initializationOptions, [{ model: '/models/m.gguf', maxLines: 3 }]);
  const selector = client.clientOptions.documentSelector as Array<{ language: string }>;
  assert.ok(selector.some((filter) => filter.language === 'rust'));
  for (const command of ['codellama.restartServer', 'codellama.toggle', 'codellama.showStatus', 'codellama.showLog']) {
    assert.ok(mock.commands.has(command), command);
  }
  // Every command the extension registers is contributed, and the other way round.
  const contributed = packageJson.contributes.commands.map((c: { command: string }) => c.command).sort();
  assert.deepEqual([...mock.commands.keys()].sort(), contributed);
  const item = mock.statusBarItems.at(-1)!;
  assert.equal(item.text, '$(check) Code Llama');
  assert.deepEqual(client.requests, [{ method: 'codellama/status', params: null }]);
});

test('progress reaches the status bar through the middleware', async () => {
  FakeLanguageClient.statuses = [{ state: 'loading' }];
  const client = await activated();
  const item = mock.statusBarItems.at(-1)!;
  const forwarded: unknown[] = [];
  const progress = client.clientOptions.middleware.handleWorkDoneProgress;
  progress('t', { kind: 'begin', title: 'codellama-ls', message: 'Loading model m' }, (_t: unknown, p: unknown) => forwarded.push(p));
  progress('t', { kind: 'report', message: 'Loading model m', percentage: 30 }, (_t: unknown, p: unknown) => forwarded.push(p));
  assert.equal(item.text, '$(loading~spin) Code Llama 30%');
  assert.equal(forwarded.length, 2, 'VS Code still gets the progress');
  FakeLanguageClient.statuses = [{ state: 'ready', model_name: 'M', model: '/m.gguf' }];
  progress('t', { kind: 'end' }, () => undefined);
  await settle();
  assert.equal(item.text, '$(check) Code Llama');
});

test('a settings change is sent as workspace/didChangeConfiguration; a removed one as its default', async () => {
  mock.configuration.global.set('model', '/models/m.gguf');
  const client = await activated();
  const section = mock.vscode.workspace.getConfiguration('codellama');
  await section.update('temperature', 0.3, 1);
  await section.update('model', undefined, 1);
  await settle();
  assert.deepEqual(client.notifications, [
    { method: 'workspace/didChangeConfiguration', params: { settings: { model: '/models/m.gguf', temperature: 0.3 } } },
    { method: 'workspace/didChangeConfiguration', params: { settings: { temperature: 0.3, model: 'codellama-7b' } } },
  ]);
  assert.equal(FakeLanguageClient.instances.length, 1);
});

test('changing the server path restarts the server', async () => {
  const first = await activated();
  await mock.vscode.workspace.getConfiguration('codellama').update('serverPath', '/opt/bin/codellama-ls', 1);
  await settle();
  assert.equal(first.isRunning(), false);
  const second = FakeLanguageClient.instances.at(-1)!;
  assert.notEqual(second, first);
  assert.equal(second.serverOptions.command, '/opt/bin/codellama-ls');
  assert.equal(second.isRunning(), true);
  assert.deepEqual(first.notifications, []);
});

test('toggle flips codellama.enabled where it is set and the item shows it', async () => {
  const client = await activated();
  const item = mock.statusBarItems.at(-1)!;
  await mock.vscode.commands.executeCommand('codellama.toggle');
  await settle();
  assert.deepEqual(mock.configuration.updates.at(-1), { key: 'enabled', value: false, target: 1 });
  assert.equal(item.text, '$(circle-slash) Code Llama');
  assert.deepEqual(client.notifications.at(-1)?.params, { settings: { enabled: false } });
  mock.configuration.workspace.set('enabled', false);
  await mock.vscode.commands.executeCommand('codellama.toggle');
  await settle();
  assert.deepEqual(mock.configuration.updates.at(-1), { key: 'enabled', value: true, target: 2 });
});

test('the middleware skips requests for a language turned off, and the completion fallback by default', async () => {
  const client = await activated();
  const { provideInlineCompletionItems, provideCompletionItem } = client.clientOptions.middleware;
  const python = { languageId: 'python' };
  const markdownOff = { languageId: 'go' };
  mock.configuration.languages.set('go', new Map([['enabled', false]]));
  const next = () => 'asked';
  assert.equal(provideInlineCompletionItems(python, {}, {}, {}, next), 'asked');
  assert.equal(provideInlineCompletionItems(markdownOff, {}, {}, {}, next), null);
  assert.equal(provideCompletionItem(python, {}, {}, {}, next), null);
  mock.configuration.global.set('completionItems', true);
  assert.equal(provideCompletionItem(python, {}, {}, {}, next), 'asked');
  assert.equal(provideCompletionItem(markdownOff, {}, {}, {}, next), null);
});

test('show status reports the state and runs the chosen action', async () => {
  const client = await activated();
  mock.answerNext('Restart Server');
  await mock.vscode.commands.executeCommand('codellama.showStatus');
  await settle();
  assert.deepEqual(mock.shown[0], {
    kind: 'info',
    message: 'Code Llama: ready: Test (/m.gguf); fill-in-the-middle, context 2048 tokens, CPU only.',
    items: ['Turn Off', 'Restart Server', 'Show Log'],
  });
  assert.equal(client.isRunning(), false);
  assert.equal(FakeLanguageClient.instances.length, 2);
});

test('a server that cannot start is shown as stopped with the reason', async () => {
  FakeLanguageClient.startError = new Error('spawn codellama-ls ENOENT');
  await activate(fakeContext() as never);
  await settle();
  const item = mock.statusBarItems.at(-1)!;
  assert.equal(item.text, '$(debug-disconnect) Code Llama');
  assert.match(item.tooltip ?? '', /ENOENT/);
  assert.match(mock.shown[0].message, /could not start the server "codellama-ls" \(spawn codellama-ls ENOENT\)/);
  assert.deepEqual(mock.shown[0].items, ['Open Settings', 'Show Log']);
});
