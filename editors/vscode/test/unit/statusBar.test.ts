import { mock } from '../support/vscode';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServerStatus } from '../../src/status';
import { StatusBar, Timers } from '../../src/statusBar';

class ManualTimers implements Timers {
  pending: Array<{ callback: () => void; ms: number } | undefined> = [];
  setTimeout(callback: () => void, ms: number): unknown {
    this.pending.push({ callback, ms });
    return this.pending.length - 1;
  }
  clearTimeout(handle: unknown): void {
    this.pending[handle as number] = undefined;
  }
  get active(): number {
    return this.pending.filter(Boolean).length;
  }
  async fire(): Promise<void> {
    const due = this.pending.filter(Boolean) as Array<{ callback: () => void }>;
    this.pending = [];
    due.forEach((timer) => timer.callback());
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function answers(...statuses: ServerStatus[]) {
  let asked = 0;
  const query = async () => statuses[Math.min(asked++, statuses.length - 1)];
  return { query, asked: () => asked };
}

test('the item shows the state and polls until the model is settled', async () => {
  const timers = new ManualTimers();
  const bar = new StatusBar(true, 500, timers);
  const item = mock.statusBarItems.at(-1)!;
  assert.equal(item.visible, true);
  assert.equal(item.command, 'codellama.showStatus');
  assert.equal(item.text, '$(loading~spin) Code Llama');

  const server = answers({ state: 'idle' }, { state: 'loading' }, { state: 'ready', model_name: 'M', model: '/m.gguf' });
  bar.tracker.setConnection('running');
  bar.setQuery(server.query);
  await bar.refresh();
  assert.equal(server.asked(), 1);
  assert.equal(timers.active, 1);
  assert.equal(timers.pending[0]?.ms, 500);

  bar.tracker.onProgress({ kind: 'begin', title: 'codellama-ls', message: 'Loading model m' });
  bar.tracker.onProgress({ kind: 'report', percentage: 60 });
  await timers.fire();
  assert.equal(server.asked(), 2);
  assert.equal(item.text, '$(loading~spin) Code Llama 60%');
  bar.tracker.onProgress({ kind: 'end' });
  await timers.fire();
  assert.equal(server.asked(), 3);
  assert.equal(item.text, '$(check) Code Llama');
  assert.equal(item.backgroundColor, undefined);
  assert.equal(timers.active, 0, 'no polling once ready');
  bar.dispose();
  assert.equal(item.disposed, true);
});

test('a failed model colours the item and stops polling', async () => {
  const timers = new ManualTimers();
  const bar = new StatusBar(true, 500, timers);
  const item = mock.statusBarItems.at(-1)!;
  bar.tracker.setConnection('running');
  bar.setQuery(answers({ state: 'failed', error: 'no such file: /x.gguf' }).query);
  await bar.refresh();
  assert.equal(item.text, '$(error) Code Llama');
  assert.match(item.tooltip ?? '', /no such file: \/x\.gguf/);
  assert.equal(item.backgroundColor?.id, 'statusBarItem.errorBackground');
  assert.equal(timers.active, 0);
  bar.dispose();
});

test('a query that fails (server going away) keeps polling only while a query exists', async () => {
  const timers = new ManualTimers();
  const bar = new StatusBar(true, 500, timers);
  bar.tracker.setConnection('running');
  bar.setQuery(async () => {
    throw new Error('connection closed');
  });
  await bar.refresh();
  assert.equal(timers.active, 1);
  bar.setQuery(undefined);
  await timers.fire();
  assert.equal(timers.active, 0);
  bar.dispose();
});

test('a refresh asked while a query is in flight asks again when it is answered', async () => {
  const timers = new ManualTimers();
  const bar = new StatusBar(true, 500, timers);
  const item = mock.statusBarItems.at(-1)!;
  bar.tracker.setConnection('running');
  const pending: Array<(status: ServerStatus) => void> = [];
  bar.setQuery(() => new Promise<ServerStatus>((resolve) => pending.push(resolve)));
  const first = bar.refresh();
  void bar.refresh(); // e.g. progress ended while the poll was on its way
  assert.equal(pending.length, 1);
  pending[0]({ state: 'loading' }); // the answer to the old question
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(pending.length, 2, 'asked again at once');
  pending[1]({ state: 'ready', model_name: 'M' });
  await first;
  assert.equal(item.text, '$(check) Code Llama');
  assert.equal(timers.active, 0);
  bar.dispose();
});
