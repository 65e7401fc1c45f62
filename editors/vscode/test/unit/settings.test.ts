import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  changedKeys,
  changedSettings,
  CLIENT_KEYS,
  contributedDefaults,
  Context,
  expandVariables,
  explicitSettings,
  MACHINE_KEYS,
  RELOAD_KEYS,
  RESTART_KEYS,
  serverCommand,
  serverKeys,
  toggleTarget,
} from '../../src/settings';
import { FakeConfiguration } from '../support/fakeConfig';
import { packageJson } from '../support/vscode';

const defaults = contributedDefaults(packageJson);
const keys = serverKeys(packageJson);
const context: Context = { home: '/home/u', workspaceFolder: '/work/proj' };

test('every server setting is contributed with the server default', () => {
  // The full list is checked against the server's Settings by tests/editors/test_vscode.py.
  for (const key of [
    'model', 'modelDir', 'autoDownload', 'nGpuLayers', 'nCtx', 'nThreads', 'nBatch', 'fimFormat', 'maxTokens',
    'maxLines', 'suffixShare', 'temperature', 'topK', 'topP', 'debounceMs', 'enabled', 'maxFileBytes', 'logLevel',
  ]) {
    assert.ok(keys.includes(key), key);
  }
  assert.equal(defaults.get('model'), 'codellama-7b');
  assert.equal(defaults.get('nGpuLayers'), -1);
  assert.equal(defaults.get('nCtx'), 4096);
  assert.equal(defaults.get('fimFormat'), 'auto');
  assert.equal(defaults.get('maxTokens'), 128);
  assert.equal(defaults.get('maxLines'), 8);
  assert.equal(defaults.get('temperature'), 0);
  assert.equal(defaults.get('debounceMs'), -1);
  assert.equal(defaults.get('enabled'), true);
  for (const key of [...CLIENT_KEYS, ...RESTART_KEYS]) {
    assert.ok(defaults.has(key), key);
    assert.ok(!keys.includes(key), key);
  }
  for (const key of RELOAD_KEYS) {
    assert.ok(keys.includes(key), key);
  }
});

test('configuration accepts an array of blocks too', () => {
  const json = { contributes: { configuration: [{ properties: { 'codellama.a': { default: 1 } } }, { properties: { 'other.b': {} } }] } };
  assert.deepEqual([...contributedDefaults(json)], [['a', 1]]);
});

test('only settings the user set are sent, so config.toml and CODELLAMA_LS_* still apply', () => {
  const config = new FakeConfiguration(defaults, { maxLines: 3, model: '~/m.gguf', serverPath: '/x' });
  config.workspace.set('temperature', 0.2);
  config.workspace.set('maxLines', 4);
  assert.deepEqual(explicitSettings(config.view(), keys, context), {
    model: '/home/u/m.gguf',
    temperature: 0.2,
    maxLines: 4,
  });
  assert.deepEqual(explicitSettings(new FakeConfiguration(defaults).view(), keys, context), {});
});

test('a setting set back to its default value is still sent (the user chose it)', () => {
  const config = new FakeConfiguration(defaults, { nGpuLayers: -1 });
  assert.deepEqual(explicitSettings(config.view(), keys, context), { nGpuLayers: -1 });
});

test('variables and ~ are expanded in paths', () => {
  assert.equal(expandVariables('~/models', context), '/home/u/models');
  assert.equal(expandVariables('~', context), '/home/u');
  assert.equal(expandVariables('${userHome}/a/${workspaceFolder}', context), '/home/u/a//work/proj');
  assert.equal(expandVariables('${workspaceFolder}/m.gguf', { home: '/h' }), '${workspaceFolder}/m.gguf');
  assert.equal(expandVariables('codellama-7b', context), 'codellama-7b');
});

test('a setting removed since start is sent as its default; the rest as set now', () => {
  const start = { model: '/a.gguf', maxLines: 3 };
  assert.deepEqual(changedSettings(start, { maxLines: 5, temperature: 0.5 }, defaults), {
    maxLines: 5,
    temperature: 0.5,
    model: 'codellama-7b',
  });
  assert.deepEqual(changedSettings({}, {}, defaults), {});
  assert.deepEqual(changedKeys(start, { model: '/a.gguf', maxLines: 4, topK: 3 }).sort(), ['maxLines', 'topK']);
});

test('the server command: PATH name, home, absolute path, arguments; never from the workspace folder', () => {
  const command = (user: Record<string, unknown>, ctx = context) =>
    serverCommand(new FakeConfiguration(defaults, user).view(), ctx);
  assert.deepEqual(command({}), { command: 'codellama-ls', args: [], cwd: '/home/u' });
  assert.equal(command({ serverPath: '  ' }).command, 'codellama-ls');
  assert.deepEqual(command({ serverPath: '~/.local/bin/codellama-ls' }), {
    command: '/home/u/.local/bin/codellama-ls',
    args: [],
    cwd: '/home/u',
  });
  assert.equal(command({ serverPath: '/opt/cl/bin/codellama-ls' }).command, '/opt/cl/bin/codellama-ls');
  // A relative path would run a program of whatever folder is open: refused, not resolved there.
  for (const serverPath of ['.venv/bin/codellama-ls', './codellama-ls', '${workspaceFolder}/bin/codellama-ls']) {
    const refused = command({ serverPath });
    assert.match(refused.problem ?? '', /relative path/, serverPath);
    assert.ok(!refused.command.startsWith('/work/proj'), serverPath);
  }
  assert.equal(command({ serverPath: '.venv/bin/codellama-ls' }, { home: '/h' }).problem !== undefined, true);
  assert.deepEqual(command({ serverArgs: ['--log-file', '/tmp/l', 3] }).args, ['--log-file', '/tmp/l']);
  assert.deepEqual(command({ serverArgs: 'nope' }).args, []);
});

test("a workspace's settings cannot choose the program, its arguments, the model or the model folder", () => {
  const config = new FakeConfiguration(defaults, { maxLines: 3 });
  for (const [key, value] of Object.entries({
    serverPath: '/work/proj/evil',
    serverArgs: ['--evil'],
    model: '/work/proj/evil.gguf',
    modelDir: '/work/proj/models',
    maxLines: 5,
  })) {
    config.workspace.set(key, value);
  }
  assert.deepEqual(MACHINE_KEYS, ['serverPath', 'serverArgs', 'model', 'instructModel', 'pythonModel', 'modelDir']);
  assert.deepEqual(explicitSettings(config.view(), keys, context), { maxLines: 5 });
  assert.deepEqual(serverCommand(config.view(), context), { command: 'codellama-ls', args: [], cwd: '/home/u' });
  // Set by the user, they apply; `${workspaceFolder}` is not expanded in them.
  config.global.set('model', '${workspaceFolder}/m.gguf');
  config.global.set('modelDir', '~/models');
  assert.deepEqual(explicitSettings(config.view(), keys, context), {
    model: '${workspaceFolder}/m.gguf',
    modelDir: '/home/u/models',
    maxLines: 5,
  });
});

test('toggling writes where the value is set now', () => {
  assert.equal(toggleTarget(undefined), 'global');
  assert.equal(toggleTarget({ defaultValue: true }), 'global');
  assert.equal(toggleTarget({ globalValue: false }), 'global');
  assert.equal(toggleTarget({ globalValue: false, workspaceValue: true }), 'workspace');
  assert.equal(toggleTarget({ workspaceFolderValue: false }), 'workspaceFolder');
});
