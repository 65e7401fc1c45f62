// Code actions come from the server through the language client (the light bulb). Edit by
// instruction needs the instruction first: its action runs this extension's command, which
// asks in an input box and then runs the server's `codellama.edit` with the instruction.
import * as vscode from 'vscode';

export const PROMPT_COMMAND = 'codellama.editWithInstruction';
export const EDIT_COMMAND = 'codellama.edit';

/** What the command needs of the language client. */
export interface CommandClient {
  isRunning(): boolean;
  sendRequest(method: string, params: unknown): Promise<unknown>;
}

export async function editWithInstruction(client: CommandClient | undefined, args: unknown): Promise<unknown> {
  if (client === undefined || !client.isRunning()) {
    void vscode.window.showWarningMessage('Code Llama: the server is not running.');
    return undefined;
  }
  const instruction = await vscode.window.showInputBox({
    title: 'Code Llama: edit by instruction',
    prompt: 'How should the selected code (or the function around the cursor) change?',
    placeHolder: 'e.g. handle an empty list',
    ignoreFocusOut: true,
  });
  if (instruction === undefined || instruction.trim() === '') {
    return undefined; // dismissed
  }
  const given = typeof args === 'object' && args !== null ? args : {};
  return client.sendRequest('workspace/executeCommand', {
    command: EDIT_COMMAND,
    arguments: [{ ...given, instruction }],
  });
}
