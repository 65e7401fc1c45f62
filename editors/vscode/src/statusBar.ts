// The status bar item and the polling of `codellama/status` while the model is not settled.

import * as vscode from 'vscode';
import { present, ServerStatus, StatusTracker } from './status';

export const SHOW_STATUS_COMMAND = 'codellama.showStatus';

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class StatusBar implements vscode.Disposable {
  readonly tracker: StatusTracker;
  private readonly item: vscode.StatusBarItem;
  private query: (() => Promise<ServerStatus>) | undefined;
  private timer: unknown;
  private polling = false;
  private again = false;
  private disposed = false;

  constructor(
    enabled: boolean,
    private readonly pollMs = 500,
    private readonly timers: Timers = realTimers,
  ) {
    this.tracker = new StatusTracker(enabled);
    this.item = vscode.window.createStatusBarItem('codellama.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Code Llama';
    this.item.command = SHOW_STATUS_COMMAND;
    this.render();
    this.item.show();
  }

  /** How to ask the server; undefined while there is no running client. */
  setQuery(query: (() => Promise<ServerStatus>) | undefined): void {
    this.query = query;
  }

  render(): void {
    const view = present(this.tracker.snapshot);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor =
      view.tone === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : view.tone === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
  }

  /** Ask the server now, then keep asking every `pollMs` until the state is settled. */
  async refresh(): Promise<void> {
    this.cancelTimer();
    if (this.query === undefined || this.disposed) {
      return;
    }
    if (this.polling) {
      this.again = true; // asked while a query is in flight: ask once more when it is answered
      return;
    }
    this.polling = true;
    try {
      do {
        this.again = false;
        const query = this.query;
        if (query === undefined) {
          break;
        }
        try {
          this.tracker.onStatus(await query());
        } catch {
          // The server is stopping or was replaced; the connection state says what to show.
        }
      } while (this.again && !this.disposed);
    } finally {
      this.polling = false;
    }
    if (this.disposed) {
      return;
    }
    this.render();
    if (!this.tracker.settled && this.query !== undefined) {
      this.timer = this.timers.setTimeout(() => {
        this.timer = undefined;
        void this.refresh();
      }, this.pollMs);
    }
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) {
      this.timers.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  dispose(): void {
    this.disposed = true;
    this.cancelTimer();
    this.item.dispose();
  }
}
