import { mock } from '../support/vscode';
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { editWithInstruction, PROMPT_COMMAND } from '../../src/actions';

class Client {
  running = true;
  readonly requests: Array<{ method: string; params: unknown }> = [];
  isRunning(): boolean {
    return this.running;
  }
  async sendRequest(method: string, params: unknown): Promise<unknown> {
    this.requests.push({ method, params });
    return true;
  }
}

const ARGS = { uri: 'file:///a.py', version: 3, range: { start: { line: 1, character: 0 }, end: { line: 2, character: 4 } } };

beforeEach(() => {
  mock.shown.length = 0;
  mock.answerNext(undefined);
});

test('edit by instruction asks in an input box and runs the server edit with the instruction', async () => {
  const client = new Client();
  mock.answerNext('use a list comprehension');
  assert.equal(await editWithInstruction(client, ARGS), true);
  assert.equal(mock.shown[0].kind, 'input');
  assert.deepEqual(client.requests, [
    {
      method: 'workspace/executeCommand',
      params: { command: 'codellama.edit', arguments: [{ ...ARGS, instruction: 'use a list comprehension' }] },
    },
  ]);
});

test('a dismissed or empty input box sends nothing', async () => {
  const client = new Client();
  assert.equal(await editWithInstruction(client, ARGS), undefined);
  mock.answerNext('   ');
  assert.equal(await editWithInstruction(client, ARGS), undefined);
  assert.deepEqual(client.requests, []);
});

test('without a running server it says so', async () => {
  const client = new Client();
  client.running = false;
  await editWithInstruction(client, ARGS);
  assert.deepEqual(client.requests, []);
  assert.equal(mock.shown.at(-1)?.kind, 'warning');
  assert.equal(PROMPT_COMMAND, 'codellama.editWithInstruction');
});
