import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activationEvents, documentSelector, isSupported, LANGUAGES } from '../../src/languages';
import { packageJson } from '../support/vscode';

test('the selector covers every supported language in saved and untitled documents', () => {
  const selector = documentSelector();
  assert.equal(selector.length, LANGUAGES.length * 2);
  assert.deepEqual(selector.slice(0, 2), [
    { language: 'python', scheme: 'file' },
    { language: 'python', scheme: 'untitled' },
  ]);
  for (const language of [
    'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'go', 'rust',
    'c', 'cpp', 'java', 'lua', 'shellscript', 'ruby', 'php', 'csharp',
  ]) {
    assert.ok(selector.some((filter) => filter.language === language && filter.scheme === 'file'), language);
  }
});

test('virtual documents and other languages are not completed', () => {
  assert.equal(isSupported('python', 'file'), true);
  assert.equal(isSupported('python', 'git'), false);
  assert.equal(isSupported('markdown', 'file'), false);
});

test('package.json activates on exactly the supported languages', () => {
  assert.deepEqual(packageJson.activationEvents, activationEvents());
});
