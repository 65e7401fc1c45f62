// Next-edit suggestions, the protocol side (no `vscode` here): after an edit pause the server may
// propose a change elsewhere in the file, the next use of a renamed parameter, say.
//
//   request  codellama/nextEdit  {textDocument: {uri, version}, position}
//   result   {edits: [{id, range, text, textDocument: {uri, version}}]}   (empty: nothing proposed)
//   notifications codellama/nextEditShown, codellama/nextEditAccepted, codellama/nextEditRejected: {id}
//
// An edit is used only for the document version it names, and only while the document is still at
// that version: it never lands in text that moved on.

export const NEXT_EDIT_REQUEST = 'codellama/nextEdit';
export const NEXT_EDIT_SHOWN = 'codellama/nextEditShown';
export const NEXT_EDIT_ACCEPTED = 'codellama/nextEditAccepted';
export const NEXT_EDIT_REJECTED = 'codellama/nextEditRejected';
/** How long after the last change the client asks. */
export const NEXT_EDIT_DELAY_MS = 400;

export interface LspPosition {
  line: number;
  character: number;
}

export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}

export interface NextEditParams {
  textDocument: { uri: string; version: number };
  position: LspPosition;
}

export interface NextEdit {
  id: string | number;
  range: LspRange;
  text: string;
  textDocument: { uri: string; version: number };
}

export function nextEditParams(uri: string, version: number, position: LspPosition): NextEditParams {
  return { textDocument: { uri, version }, position: { line: position.line, character: position.character } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isPosition(value: unknown): value is LspPosition {
  return (
    isObject(value) &&
    Number.isInteger(value.line) &&
    Number.isInteger(value.character) &&
    (value.line as number) >= 0 &&
    (value.character as number) >= 0
  );
}

function before(a: LspPosition, b: LspPosition): boolean {
  return a.line < b.line || (a.line === b.line && a.character <= b.character);
}

/**
 * The first edit of `result` for the document `uri` at `version`, whose range lies in it
 * (`lineLength(line)`: the line's length in UTF-16 units, undefined past the end); else undefined.
 */
export function pickEdit(
  result: unknown,
  uri: string,
  version: number,
  lineLength: (line: number) => number | undefined,
): NextEdit | undefined {
  const edits = isObject(result) && Array.isArray(result.edits) ? result.edits : [];
  for (const edit of edits) {
    if (!isObject(edit) || typeof edit.text !== 'string' || !isObject(edit.range) || !isObject(edit.textDocument)) {
      continue;
    }
    if (edit.textDocument.uri !== uri || edit.textDocument.version !== version) {
      continue;
    }
    const { start, end } = edit.range;
    if (!isPosition(start) || !isPosition(end) || !before(start, end)) {
      continue;
    }
    const startLength = lineLength(start.line);
    const endLength = lineLength(end.line);
    if (startLength === undefined || endLength === undefined || start.character > startLength || end.character > endLength) {
      continue;
    }
    if (typeof edit.id !== 'string' && typeof edit.id !== 'number') {
      continue;
    }
    return edit as unknown as NextEdit;
  }
  return undefined;
}

/** The new text as one line of decoration: line breaks shown as ⏎. */
export function previewText(text: string): string {
  return text.replace(/\r?\n/g, ' ⏎ ');
}

/** Where jump-or-accept goes: 'accept' when the cursor is at the edit's start, else 'jump'. */
export function jumpOrAccept(cursor: LspPosition, edit: NextEdit): 'jump' | 'accept' {
  const start = edit.range.start;
  return cursor.line === start.line && cursor.character === start.character ? 'accept' : 'jump';
}
