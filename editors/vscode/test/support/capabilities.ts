// The client capabilities vscode-languageclient sends in `initialize`, computed by the real
// library (the version in package-lock.json) with a do-nothing stand-in for the `vscode` module.
// Only the capability computation runs; it reads no editor state.

import type { ClientCapabilities } from 'vscode-languageserver-protocol';
import { documentSelector } from '../../src/languages';
import { withStubs } from './stub';
import { replacements } from './vscode';

export const VSCODE_VERSION = '1.105.0';

export function vscodeClientCapabilities(): ClientCapabilities {
  const vscode = withStubs('vscode', { version: VSCODE_VERSION, env: { appName: 'Visual Studio Code', language: 'en' } });
  const previous = replacements.get('vscode');
  replacements.set('vscode', vscode);
  try {
    const { LanguageClient } = require('vscode-languageclient/node') as typeof import('vscode-languageclient/node');
    const client = new LanguageClient('codellama', 'Code Llama', { command: 'codellama-ls' }, { documentSelector: documentSelector() });
    return (client as unknown as { computeClientCapabilities(): ClientCapabilities }).computeClientCapabilities();
  } finally {
    replacements.set('vscode', previous);
  }
}
