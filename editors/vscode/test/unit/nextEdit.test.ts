import { host, Position, Range, Selection, Uri } from '../support/host';
import { mock } from '../support/vscode';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jumpOrAccept, NextEdit, nextEditParams, pickEdit, previewText } from '../../src/nextEdit';
import { NextEditClient, NextEditController, VISIBLE_CONTEXT } from '../../src/nextEditController';

const URI = 'file:///w/area.py';
const SOURCE = ['def area(w, height):', '    total = width * height', '    return total', ''];
const lengths = (line: number) => (line < SOURCE.length ? SOURCE[line].length : undefined);

function edit(overrides: Partial<NextEdit> = {}): NextEdit {
  return {
    id: 'e1',
    range: { start: { line: 1, character: 12 }, end: { line: 1, character: 17 } },
    text: 'w',
    textDocument: { uri: URI, version: 3 },
    ...overrides,
  };
}

test('the request names the document version and the cursor', () => {
  assert.deepEqual(nextEditParams(URI, 3, { line: 0, character: 10 }), {
    textDocument: { uri: URI, version: 3 },
    position: { line: 0, character: 10 },
  });
});

test('an edit is taken only for this document at this version, with a range inside it', () => {
  assert.deepEqual(pickEdit({ edits: [edit()] }, URI, 3, lengths), edit());
  assert.equal(pickEdit({ edits: [] }, URI, 3, lengths), undefined, 'nothing proposed');
  assert.equal(pickEdit(null, URI, 3, lengths), undefined, 'no result');
  assert.equal(pickEdit({ edits: [edit()] }, URI, 4, lengths), undefined, 'an older version');
  assert.equal(pickEdit({ edits: [edit({ textDocument: { uri: 'file:///w/other.py', version: 3 } })] }, URI, 3, lengths), undefined);
  const past = { start: { line: 9, character: 0 }, end: { line: 9, character: 1 } };
  assert.equal(pickEdit({ edits: [edit({ range: past })] }, URI, 3, lengths), undefined, 'past the end');
  const wide = { start: { line: 1, character: 12 }, end: { line: 1, character: 99 } };
  assert.equal(pickEdit({ edits: [edit({ range: wide })] }, URI, 3, lengths), undefined, 'past the line end');
  const reversed = { start: { line: 1, character: 17 }, end: { line: 1, character: 12 } };
  assert.equal(pickEdit({ edits: [edit({ range: reversed })] }, URI, 3, lengths), undefined, 'reversed');
  assert.equal(pickEdit({ edits: [{ ...edit(), id: undefined }] }, URI, 3, lengths), undefined, 'no id');
  // The first usable one wins.
  assert.deepEqual(pickEdit({ edits: [edit({ range: past }), edit({ id: 2 })] }, URI, 3, lengths), edit({ id: 2 }));
});

test('the preview shows line breaks; Tab jumps, then accepts at the start', () => {
  assert.equal(previewText('a\nb'), 'a ⏎ b');
  assert.equal(jumpOrAccept({ line: 0, character: 3 }, edit()), 'jump');
  assert.equal(jumpOrAccept({ line: 1, character: 12 }, edit()), 'accept');
});

// -- the controller, with a stand-in editor -------------------------------------------------

class FakeDocument {
  version = 3;
  readonly uri = Uri.parse(URI);
  constructor(public lines: string[]) {}
  get lineCount(): number {
    return this.lines.length;
  }
  lineAt(line: number): { text: string } {
    return { text: this.lines[line] };
  }
  private offset(position: Position): number {
    return this.lines.slice(0, position.line).join('\n').length + (position.line > 0 ? 1 : 0) + position.character;
  }
  getText(range?: Range): string {
    const text = this.lines.join('\n');
    return range === undefined ? text : text.slice(this.offset(range.start), this.offset(range.end));
  }
  replace(range: Range, text: string): void {
    const all = this.getText();
    this.lines = (all.slice(0, this.offset(range.start)) + text + all.slice(this.offset(range.end))).split('\n');
    this.version += 1;
  }
}

class FakeEditor {
  selection = new Selection(new Position(0, 10), new Position(0, 10));
  readonly decorations = new Map<unknown, unknown[]>();
  constructor(readonly document: FakeDocument) {}
  setDecorations(type: unknown, items: unknown[]): void {
    this.decorations.set(type, items);
  }
  revealRange(): void {}
  async edit(build: (builder: { replace(range: Range, text: string): void }) => void): Promise<boolean> {
    const version = this.document.version;
    const edits: Array<[Range, string]> = [];
    build({ replace: (range, text) => void edits.push([range, text]) });
    await Promise.resolve();
    if (this.document.version !== version) {
      return false; // as VS Code does: the document moved on
    }
    for (const [range, text] of edits) {
      this.document.replace(range, text);
    }
    return true;
  }
  shownDecorations(): unknown[] {
    return [...this.decorations.values()].flat();
  }
}

class FakeClient implements NextEditClient {
  readonly requests: unknown[] = [];
  readonly notifications: Array<{ method: string; params: unknown }> = [];
  /** Runs before answering: a test changes the document meanwhile. */
  meanwhile: () => void = () => undefined;
  constructor(private readonly answer: (params: { textDocument: { version: number } }) => unknown) {}
  async sendRequest(_method: string, params: unknown): Promise<unknown> {
    this.requests.push(params);
    await Promise.resolve();
    this.meanwhile();
    return this.answer(params as { textDocument: { version: number } });
  }
  async sendNotification(method: string, params: unknown): Promise<void> {
    this.notifications.push({ method, params });
  }
}

function setup() {
  const document = new FakeDocument([...SOURCE]);
  const editor = new FakeEditor(document);
  (host.window as { activeTextEditor: unknown }).activeTextEditor = editor;
  const client = new FakeClient((params) => ({ edits: [edit({ textDocument: { uri: URI, version: params.textDocument.version } })] }));
  const controller = new NextEditController(() => client, () => true, 0);
  return { document, editor, client, controller };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
const contexts = () => mock.executed.filter((e) => e.command === 'setContext').map((e) => e.args);

test('after a change the proposed edit is drawn; Tab jumps, Tab again applies it', async () => {
  const { document, editor, client, controller } = setup();
  try {
    mock.documentChanged.fire({ document, contentChanges: [{}] });
    await settle();
    assert.deepEqual(client.requests, [{ textDocument: { uri: URI, version: 3 }, position: { line: 0, character: 10 } }]);
    const shown = editor.shownDecorations() as Array<Range | { range: Range; renderOptions: { after: { contentText: string } } }>;
    assert.equal(shown.length, 2, 'the struck text and the new text');
    assert.deepEqual(shown[0], new Range(1, 12, 1, 17));
    const added = shown[1] as { range: Range; renderOptions: { after: { contentText: string } } };
    assert.deepEqual([added.range.start, added.renderOptions.after.contentText], [new Position(1, 17), 'w']);
    assert.deepEqual(contexts().at(-1), [VISIBLE_CONTEXT, true]);
    assert.deepEqual(client.notifications, [{ method: 'codellama/nextEditShown', params: { id: 'e1' } }]);

    await host.commands.executeCommand('codellama.nextEdit.jumpOrAccept');
    assert.deepEqual(editor.selection.active, new Position(1, 12), 'Tab jumped');
    assert.equal(document.lines[1], '    total = width * height', 'the jump changed nothing');
    await host.commands.executeCommand('codellama.nextEdit.jumpOrAccept');
    assert.equal(document.lines[1], '    total = w * height', 'Tab again applied it');
    assert.deepEqual(client.notifications.at(-1), { method: 'codellama/nextEditAccepted', params: { id: 'e1' } });
    assert.deepEqual(editor.shownDecorations(), [], 'nothing drawn after');
    assert.deepEqual(contexts().at(-1), [VISIBLE_CONTEXT, false]);
  } finally {
    controller.dispose();
  }
});

test('dismissing tells the server Rejected and leaves the document alone', async () => {
  const { document, editor, client, controller } = setup();
  try {
    await controller.request(editor as never);
    assert.ok(controller.current, 'shown');
    await host.commands.executeCommand('codellama.nextEdit.dismiss');
    assert.deepEqual(document.lines, SOURCE);
    assert.deepEqual(editor.shownDecorations(), []);
    assert.deepEqual(client.notifications.at(-1), { method: 'codellama/nextEditRejected', params: { id: 'e1' } });
    assert.equal(await controller.accept(), false, 'nothing left to accept');
  } finally {
    controller.dispose();
  }
});

test('an answer for an older version is not shown, and a shown edit never lands in a changed document', async () => {
  const { document, editor, client, controller } = setup();
  try {
    // The document changes while the server computes.
    client.meanwhile = () => document.replace(new Range(3, 0, 3, 0), '# typed');
    await controller.request(editor as never);
    assert.equal(controller.current, undefined, 'a stale answer is not shown');
    assert.deepEqual(editor.shownDecorations(), []);
    assert.ok(!client.notifications.some((n) => n.method === 'codellama/nextEditShown'));

    client.meanwhile = () => undefined;
    await controller.request(editor as never);
    assert.ok(controller.current, 'shown for the current version');
    document.replace(new Range(3, 0, 3, 0), 'x'); // a change the controller has not heard of
    const before = document.getText();
    assert.equal(await controller.accept(), false);
    assert.equal(await controller.jumpOrAccept(), false);
    assert.equal(document.getText(), before, 'nothing applied');
    assert.ok(!client.notifications.some((n) => n.method === 'codellama/nextEditAccepted'));
  } finally {
    controller.dispose();
  }
});
