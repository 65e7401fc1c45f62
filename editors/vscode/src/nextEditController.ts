// Next-edit suggestions in the editor.  VS Code's inline-edit API is proposed only (extensions on
// the marketplace cannot use it), so the proposal is drawn with decorations: the replaced text
// struck through on the diff colours, the new text after it.  Tab jumps there, Tab again applies
// it, Escape dismisses it (`codellama.nextEditVisible` scopes the keys).  See nextEdit.ts for the
// protocol.

import * as vscode from 'vscode';
import {
  jumpOrAccept,
  NEXT_EDIT_ACCEPTED,
  NEXT_EDIT_DELAY_MS,
  NEXT_EDIT_REJECTED,
  NEXT_EDIT_REQUEST,
  NEXT_EDIT_SHOWN,
  NextEdit,
  nextEditParams,
  pickEdit,
  previewText,
} from './nextEdit';

export const VISIBLE_CONTEXT = 'codellama.nextEditVisible';
export const JUMP_COMMAND = 'codellama.nextEdit.jump';
export const ACCEPT_COMMAND = 'codellama.nextEdit.accept';
export const JUMP_OR_ACCEPT_COMMAND = 'codellama.nextEdit.jumpOrAccept';
export const DISMISS_COMMAND = 'codellama.nextEdit.dismiss';

/** What the controller needs of the language client. */
export interface NextEditClient {
  sendRequest(method: string, params: unknown, token?: vscode.CancellationToken): Promise<unknown>;
  sendNotification(method: string, params: unknown): Promise<void>;
}

interface Shown {
  edit: NextEdit;
  editor: vscode.TextEditor;
  version: number;
  range: vscode.Range;
  old: string;
  client: NextEditClient;
}

export class NextEditController implements vscode.Disposable {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pending: vscode.CancellationTokenSource | undefined;
  private shown: Shown | undefined;
  private readonly deleted: vscode.TextEditorDecorationType;
  private readonly added: vscode.TextEditorDecorationType;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly client: () => NextEditClient | undefined,
    private readonly enabled: (document: vscode.TextDocument) => boolean,
    private readonly delayMs = NEXT_EDIT_DELAY_MS,
  ) {
    this.deleted = vscode.window.createTextEditorDecorationType({
      textDecoration: 'line-through',
      backgroundColor: new vscode.ThemeColor('diffEditor.removedTextBackground'),
    });
    this.added = vscode.window.createTextEditorDecorationType({});
    this.disposables.push(
      this.deleted,
      this.added,
      vscode.commands.registerCommand(JUMP_COMMAND, () => this.jump()),
      vscode.commands.registerCommand(ACCEPT_COMMAND, () => this.accept()),
      vscode.commands.registerCommand(JUMP_OR_ACCEPT_COMMAND, () => this.jumpOrAccept()),
      vscode.commands.registerCommand(DISMISS_COMMAND, () => this.dismiss()),
      vscode.workspace.onDidChangeTextDocument((event) => this.onChange(event)),
      vscode.window.onDidChangeActiveTextEditor(() => this.clear()),
    );
  }

  /** The shown edit, while its document is still at the version it was computed for. */
  get current(): Shown | undefined {
    const shown = this.shown;
    return shown !== undefined && shown.editor.document.version === shown.version ? shown : undefined;
  }

  private onChange(event: vscode.TextDocumentChangeEvent): void {
    if (event.contentChanges.length === 0) {
      return;
    }
    if (this.shown !== undefined && this.shown.editor.document === event.document) {
      this.clear(); // about text that is gone
    }
    this.cancel();
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined || editor.document !== event.document || !this.enabled(event.document)) {
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.request(editor);
    }, this.delayMs);
  }

  private cancel(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.pending?.cancel();
    this.pending = undefined;
  }

  /** Ask the server now about the cursor of `editor`. */
  async request(editor: vscode.TextEditor): Promise<void> {
    const client = this.client();
    if (client === undefined) {
      return;
    }
    this.cancel();
    const document = editor.document;
    const version = document.version;
    const uri = document.uri.toString();
    const source = new vscode.CancellationTokenSource();
    this.pending = source;
    let result: unknown;
    try {
      result = await client.sendRequest(NEXT_EDIT_REQUEST, nextEditParams(uri, version, editor.selection.active), source.token);
    } catch {
      return; // cancelled, or a server that does not know the method: nothing to show
    } finally {
      if (this.pending === source) {
        this.pending = undefined;
      }
    }
    // Only for the text it was computed for, in the editor still in front.
    if (source.token.isCancellationRequested || document.version !== version || vscode.window.activeTextEditor !== editor) {
      return;
    }
    const edit = pickEdit(result, uri, version, (line) => (line < document.lineCount ? document.lineAt(line).text.length : undefined));
    if (edit === undefined) {
      return;
    }
    const range = new vscode.Range(edit.range.start.line, edit.range.start.character, edit.range.end.line, edit.range.end.character);
    const old = document.getText(range);
    if (old === edit.text) {
      return;
    }
    this.show({ edit, editor, version, range, old, client });
  }

  private show(shown: Shown): void {
    this.clear();
    this.shown = shown;
    const { editor, range, edit } = shown;
    editor.setDecorations(this.deleted, range.isEmpty ? [] : [range]);
    const hover = new vscode.MarkdownString().appendText('Code Llama proposes: ').appendCodeblock(edit.text);
    editor.setDecorations(this.added, [
      {
        range: new vscode.Range(range.end, range.end),
        hoverMessage: hover,
        renderOptions: {
          after: {
            contentText: previewText(edit.text),
            backgroundColor: new vscode.ThemeColor('diffEditor.insertedTextBackground'),
          },
        },
      },
    ]);
    void vscode.commands.executeCommand('setContext', VISIBLE_CONTEXT, true);
    void shown.client.sendNotification(NEXT_EDIT_SHOWN, { id: edit.id });
  }

  /** Erase the shown edit (the server is told nothing). */
  clear(): void {
    const shown = this.shown;
    this.shown = undefined;
    if (shown !== undefined) {
      shown.editor.setDecorations(this.deleted, []);
      shown.editor.setDecorations(this.added, []);
      void vscode.commands.executeCommand('setContext', VISIBLE_CONTEXT, false);
    }
  }

  /** Move the cursor to the start of the shown edit. */
  jump(): boolean {
    const shown = this.current;
    if (shown === undefined) {
      this.clear();
      return false;
    }
    const start = shown.range.start;
    shown.editor.selection = new vscode.Selection(start, start);
    shown.editor.revealRange(shown.range);
    return true;
  }

  /** Apply the shown edit, if its document has not changed since. */
  async accept(): Promise<boolean> {
    const shown = this.current;
    this.clear();
    if (shown === undefined || shown.editor.document.getText(shown.range) !== shown.old) {
      return false;
    }
    // VS Code itself refuses the edit if the document moved on before it lands.
    const applied = await shown.editor.edit((builder) => builder.replace(shown.range, shown.edit.text));
    if (applied) {
      void shown.client.sendNotification(NEXT_EDIT_ACCEPTED, { id: shown.edit.id });
    }
    return applied;
  }

  async jumpOrAccept(): Promise<boolean> {
    const shown = this.current;
    if (shown === undefined) {
      this.clear();
      return false;
    }
    return jumpOrAccept(shown.editor.selection.active, shown.edit) === 'accept' ? this.accept() : this.jump();
  }

  /** Hide the shown edit and tell the server it was rejected. */
  dismiss(): boolean {
    const shown = this.current;
    this.clear();
    if (shown === undefined) {
      return false;
    }
    void shown.client.sendNotification(NEXT_EDIT_REJECTED, { id: shown.edit.id });
    return true;
  }

  dispose(): void {
    this.cancel();
    this.clear();
    for (const disposable of this.disposables.splice(0)) {
      disposable.dispose();
    }
  }
}
