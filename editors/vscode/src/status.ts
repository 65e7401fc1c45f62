// What the status bar shows, from three sources: the client's connection state, the server's
// `$/progress` reports while it loads the model, and its `codellama/status` answers.
// Pure: no `vscode` import.

export const STATUS_REQUEST = 'codellama/status';
/**
 * Sent as the request's params.  vscode-jsonrpc leaves `params` out of a request sent without
 * them, which pygls 2 rejects for custom methods without answering; `null` is accepted.
 */
export const STATUS_PARAMS = null;

export type ModelState = 'idle' | 'loading' | 'ready' | 'failed';

/** The answer to `codellama/status` (the fields the extension reads). */
export interface ServerStatus {
  state: ModelState;
  error?: string | null;
  model?: string | null;
  model_name?: string | null;
  fim?: boolean | null;
  n_ctx?: number | null;
  gpu_layers?: number | null;
  position_encoding?: string;
  documents?: number;
  settings?: Record<string, unknown>;
  recent?: Array<Record<string, unknown>>;
}

export type Connection = 'starting' | 'running' | 'stopped';

/** A `$/progress` value of work-done progress. */
export interface ProgressValue {
  kind: 'begin' | 'report' | 'end';
  title?: string;
  message?: string;
  percentage?: number;
}

export type Phase = 'starting' | 'stopped' | 'disabled' | 'loading' | 'ready' | 'failed';

export interface Snapshot {
  connection: Connection;
  /** Why the server is not running (spawn failure, crash). */
  connectionError?: string;
  enabled: boolean;
  server?: ServerStatus;
  /** Set between a progress `begin` and its `end`. */
  progress?: { title?: string; message?: string; percentage?: number };
}

export class StatusTracker {
  private current: Snapshot;

  constructor(enabled = true) {
    this.current = { connection: 'starting', enabled };
  }

  get snapshot(): Snapshot {
    return this.current;
  }

  setConnection(connection: Connection, error?: string): void {
    const next: Snapshot = { ...this.current, connection, connectionError: error };
    if (connection !== 'running') {
      // A new process starts from scratch; whatever the old one said no longer holds.
      next.server = undefined;
      next.progress = undefined;
    }
    this.current = next;
  }

  setEnabled(enabled: boolean): void {
    this.current = { ...this.current, enabled };
  }

  onProgress(value: ProgressValue): void {
    if (value.kind === 'end') {
      this.current = { ...this.current, progress: undefined };
      return;
    }
    const before = value.kind === 'begin' ? {} : (this.current.progress ?? {});
    this.current = {
      ...this.current,
      progress: {
        title: value.title ?? before.title,
        message: value.message ?? before.message,
        percentage: clampPercentage(value.percentage) ?? before.percentage,
      },
    };
  }

  onStatus(status: ServerStatus): void {
    this.current = { ...this.current, server: status };
  }

  get phase(): Phase {
    return phaseOf(this.current);
  }

  /** True when nothing will change without an event we hear about, so polling can stop. */
  get settled(): boolean {
    const { connection, server, progress } = this.current;
    if (connection === 'stopped') {
      return true;
    }
    return connection === 'running' && progress === undefined && (server?.state === 'ready' || server?.state === 'failed');
  }
}

function clampPercentage(value: number | undefined): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return undefined;
  }
  return Math.max(0, Math.min(100, Math.round(value)));
}

export function phaseOf(snapshot: Snapshot): Phase {
  if (snapshot.connection === 'stopped') {
    return 'stopped';
  }
  if (snapshot.connection === 'starting') {
    return 'starting';
  }
  if (!snapshot.enabled) {
    return 'disabled';
  }
  if (snapshot.progress !== undefined || snapshot.server?.state === 'loading') {
    return 'loading';
  }
  if (snapshot.server?.state === 'failed') {
    return 'failed';
  }
  if (snapshot.server?.state === 'ready') {
    return 'ready';
  }
  return 'starting'; // running, model not asked for yet ("idle") or no answer yet
}

export type Tone = 'normal' | 'warning' | 'error';

export interface Presentation {
  /** Status bar text, with VS Code `$(icon)` syntax. */
  text: string;
  /** Plain-text tooltip; lines separated by "\n". */
  tooltip: string;
  tone: Tone;
}

const NAME = 'Code Llama';

/** The model in one line: "CodeLlama 7B (/path/model.gguf)". */
export function modelLabel(server: ServerStatus | undefined): string | undefined {
  if (server === undefined) {
    return undefined;
  }
  const name = server.model_name ?? undefined;
  const file = server.model ?? undefined;
  if (name && file) {
    return `${name} (${file})`;
  }
  return name || file || (typeof server.settings?.model === 'string' ? server.settings.model : undefined);
}

/** Details of a loaded model: "fill-in-the-middle, context 4096 tokens, 33 GPU layers". */
export function modelDetails(server: ServerStatus | undefined): string | undefined {
  if (server === undefined || server.state !== 'ready') {
    return undefined;
  }
  const parts: string[] = [];
  if (server.fim !== undefined && server.fim !== null) {
    parts.push(server.fim ? 'fill-in-the-middle' : 'prefix only (no fill-in-the-middle tokens)');
  }
  if (typeof server.n_ctx === 'number') {
    parts.push(`context ${server.n_ctx} tokens`);
  }
  if (typeof server.gpu_layers === 'number') {
    parts.push(server.gpu_layers > 0 ? `${server.gpu_layers} GPU layers` : 'CPU only');
  }
  return parts.length ? parts.join(', ') : undefined;
}

function loadingLine(snapshot: Snapshot): string {
  const progress = snapshot.progress;
  const pieces = [progress?.message || progress?.title || 'Loading the model'];
  if (progress?.percentage !== undefined && !pieces[0].includes('%')) {
    pieces.push(`${progress.percentage}%`);
  }
  return pieces.join(' ');
}

export function present(snapshot: Snapshot): Presentation {
  const phase = phaseOf(snapshot);
  const click = 'Click for status and actions.';
  switch (phase) {
    case 'stopped':
      return {
        text: `$(debug-disconnect) ${NAME}`,
        tooltip: [`${NAME}: the server is not running.`, snapshot.connectionError, click].filter(Boolean).join('\n'),
        tone: snapshot.connectionError ? 'error' : 'warning',
      };
    case 'starting':
      return { text: `$(loading~spin) ${NAME}`, tooltip: `${NAME}: starting codellama-ls.\n${click}`, tone: 'normal' };
    case 'disabled': {
      const state = snapshot.server ? `Model: ${snapshot.server.state}.` : undefined;
      return {
        text: `$(circle-slash) ${NAME}`,
        tooltip: [`${NAME}: completions are off (codellama.enabled).`, state, click].filter(Boolean).join('\n'),
        tone: 'normal',
      };
    }
    case 'loading': {
      const percentage = snapshot.progress?.percentage;
      return {
        text: `$(loading~spin) ${NAME}${percentage !== undefined ? ` ${percentage}%` : ''}`,
        tooltip: `${NAME}: ${loadingLine(snapshot)}\nCompletions start when the model is ready.`,
        tone: 'normal',
      };
    }
    case 'failed':
      return {
        text: `$(error) ${NAME}`,
        tooltip: `${NAME}: the model did not load.\n${snapshot.server?.error || 'No reason given.'}\n${click}`,
        tone: 'error',
      };
    case 'ready': {
      const lines = [`${NAME}: ready.`, modelLabel(snapshot.server), modelDetails(snapshot.server), click];
      return { text: `$(check) ${NAME}`, tooltip: lines.filter(Boolean).join('\n'), tone: 'normal' };
    }
  }
}

/** One message for `Code Llama: Show Status`. */
export function describe(snapshot: Snapshot): string {
  const phase = phaseOf(snapshot);
  const server = snapshot.server;
  switch (phase) {
    case 'stopped':
      return `${NAME}: the server is not running.${snapshot.connectionError ? ` ${snapshot.connectionError}` : ''}`;
    case 'starting':
      return `${NAME}: the server is starting.`;
    case 'loading':
      return `${NAME}: ${loadingLine(snapshot)}.`;
    case 'failed':
      return `${NAME}: the model did not load: ${server?.error || 'no reason given'}`;
    case 'disabled':
    case 'ready': {
      const head = phase === 'disabled' ? `${NAME}: completions are off (model ${server?.state ?? 'unknown'})` : `${NAME}: ready`;
      const model = modelLabel(server);
      const details = modelDetails(server);
      return [head, model ? `: ${model}` : '', details ? `; ${details}` : '', '.'].join('');
    }
  }
}
