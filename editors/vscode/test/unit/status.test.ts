import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describe, modelDetails, present, ServerStatus, StatusTracker } from '../../src/status';

const READY: ServerStatus = {
  state: 'ready',
  error: null,
  model: '/models/codellama-7b.Q4_K_M.gguf',
  model_name: 'CodeLlama 7B',
  fim: true,
  n_ctx: 4096,
  gpu_layers: 33,
};

function running(enabled = true): StatusTracker {
  const tracker = new StatusTracker(enabled);
  tracker.setConnection('running');
  return tracker;
}

test('starting until the server answers', () => {
  const tracker = new StatusTracker();
  assert.equal(tracker.phase, 'starting');
  assert.equal(present(tracker.snapshot).text, '$(loading~spin) Code Llama');
  tracker.setConnection('running');
  assert.equal(tracker.phase, 'starting');
  tracker.onStatus({ state: 'idle' });
  assert.equal(tracker.phase, 'starting');
  assert.equal(tracker.settled, false);
});

test('loading shows the percentage from $/progress', () => {
  const tracker = running();
  tracker.onProgress({ kind: 'begin', title: 'codellama-ls', message: 'Loading model codellama-7b' });
  assert.equal(tracker.phase, 'loading');
  assert.equal(present(tracker.snapshot).text, '$(loading~spin) Code Llama');
  assert.match(present(tracker.snapshot).tooltip, /Loading model codellama-7b/);
  tracker.onProgress({ kind: 'report', message: 'Downloading codellama-7b.Q4_K_M.gguf', percentage: 41.6 });
  assert.equal(present(tracker.snapshot).text, '$(loading~spin) Code Llama 42%');
  assert.match(present(tracker.snapshot).tooltip, /Downloading codellama-7b\.Q4_K_M\.gguf 42%/);
  tracker.onProgress({ kind: 'report', percentage: 250 }); // keeps the message, clamps
  assert.equal(tracker.snapshot.progress?.percentage, 100);
  assert.equal(tracker.snapshot.progress?.message, 'Downloading codellama-7b.Q4_K_M.gguf');
  assert.equal(tracker.settled, false);
  tracker.onProgress({ kind: 'end', message: 'Model ready' });
  tracker.onStatus(READY);
  assert.equal(tracker.phase, 'ready');
  assert.equal(tracker.settled, true);
});

test('a status saying loading counts as loading without progress', () => {
  const tracker = running();
  tracker.onStatus({ state: 'loading' });
  assert.equal(tracker.phase, 'loading');
  assert.equal(present(tracker.snapshot).text, '$(loading~spin) Code Llama');
  assert.match(describe(tracker.snapshot), /Loading the model/);
});

test('ready names the model', () => {
  const tracker = running();
  tracker.onStatus(READY);
  const view = present(tracker.snapshot);
  assert.equal(view.text, '$(check) Code Llama');
  assert.equal(view.tone, 'normal');
  assert.match(view.tooltip, /CodeLlama 7B \(\/models\/codellama-7b\.Q4_K_M\.gguf\)/);
  assert.match(view.tooltip, /fill-in-the-middle, context 4096 tokens, 33 GPU layers/);
  assert.equal(
    describe(tracker.snapshot),
    'Code Llama: ready: CodeLlama 7B (/models/codellama-7b.Q4_K_M.gguf); fill-in-the-middle, context 4096 tokens, 33 GPU layers.',
  );
  assert.equal(modelDetails({ ...READY, fim: false, gpu_layers: 0 }), 'prefix only (no fill-in-the-middle tokens), context 4096 tokens, CPU only');
});

test('failed shows the error as tooltip', () => {
  const tracker = running();
  const error = 'Model codellama-7b is not downloaded: /cache/codellama-7b.Q4_K_M.gguf';
  tracker.onStatus({ state: 'failed', error });
  const view = present(tracker.snapshot);
  assert.equal(view.text, '$(error) Code Llama');
  assert.equal(view.tone, 'error');
  assert.ok(view.tooltip.includes(error));
  assert.equal(describe(tracker.snapshot), `Code Llama: the model did not load: ${error}`);
  assert.equal(tracker.settled, true);
});

test('disabled wins over the model state, which stays in the tooltip', () => {
  const tracker = running(false);
  tracker.onStatus(READY);
  const view = present(tracker.snapshot);
  assert.equal(view.text, '$(circle-slash) Code Llama');
  assert.match(view.tooltip, /completions are off/);
  assert.match(view.tooltip, /Model: ready/);
  assert.match(describe(tracker.snapshot), /^Code Llama: completions are off \(model ready\): CodeLlama 7B/);
  tracker.setEnabled(true);
  assert.equal(tracker.phase, 'ready');
});

test('a stopped server forgets what the old process said', () => {
  const tracker = running();
  tracker.onStatus(READY);
  tracker.onProgress({ kind: 'begin', title: 'x' });
  tracker.setConnection('stopped', 'Could not start codellama-ls: spawn codellama-ls ENOENT');
  assert.equal(tracker.phase, 'stopped');
  assert.equal(tracker.snapshot.server, undefined);
  assert.equal(tracker.snapshot.progress, undefined);
  const view = present(tracker.snapshot);
  assert.equal(view.text, '$(debug-disconnect) Code Llama');
  assert.equal(view.tone, 'error');
  assert.match(view.tooltip, /ENOENT/);
  assert.equal(tracker.settled, true);
  tracker.setConnection('stopped');
  assert.equal(present(tracker.snapshot).tone, 'warning');
});
