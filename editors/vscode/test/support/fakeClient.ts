// A stand-in for `vscode-languageclient/node` that records what the extension asks of it.

import { EventEmitter, replacements } from './vscode';

export enum State {
  Stopped = 1,
  Starting = 3,
  Running = 2,
}

export const DidChangeConfigurationNotification = {
  type: { method: 'workspace/didChangeConfiguration' },
};

export interface Sent {
  method: string;
  params: unknown;
}

export class FakeLanguageClient {
  static instances: FakeLanguageClient[] = [];
  /** What the next `start()` does: resolve, or reject with this error. */
  static startError: Error | undefined;
  /** What `codellama/status` answers, in turn; the last one repeats. */
  static statuses: unknown[] = [{ state: 'ready', model_name: 'Test', model: '/m.gguf', fim: true, n_ctx: 2048, gpu_layers: 0 }];

  state = State.Stopped;
  readonly notifications: Sent[] = [];
  readonly requests: Sent[] = [];
  readonly initializationOptions: unknown[] = [];
  private readonly stateChanged = new EventEmitter<{ oldState: State; newState: State }>();
  readonly onDidChangeState = this.stateChanged.event;
  private statusIndex = 0;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly serverOptions: { command: string; args?: string[]; options?: { cwd?: string } },
    readonly clientOptions: {
      documentSelector: unknown;
      initializationOptions: unknown;
      middleware: Record<string, (...args: unknown[]) => unknown>;
    },
  ) {
    FakeLanguageClient.instances.push(this);
  }

  private setState(state: State): void {
    const oldState = this.state;
    this.state = state;
    this.stateChanged.fire({ oldState, newState: state });
  }

  async start(): Promise<void> {
    this.setState(State.Starting);
    if (FakeLanguageClient.startError !== undefined) {
      this.setState(State.Stopped);
      throw FakeLanguageClient.startError;
    }
    const options = this.clientOptions.initializationOptions;
    this.initializationOptions.push(typeof options === 'function' ? options() : options);
    this.setState(State.Running);
  }

  async stop(): Promise<void> {
    this.setState(State.Stopped);
  }

  needsStop(): boolean {
    return this.state !== State.Stopped;
  }

  isRunning(): boolean {
    return this.state === State.Running;
  }

  async sendRequest(method: string, params?: unknown): Promise<unknown> {
    this.requests.push({ method, params });
    const statuses = FakeLanguageClient.statuses;
    const answer = statuses[Math.min(this.statusIndex, statuses.length - 1)];
    this.statusIndex += 1;
    return answer;
  }

  async sendNotification(type: { method: string } | string, params: unknown): Promise<void> {
    this.notifications.push({ method: typeof type === 'string' ? type : type.method, params });
  }
}

export const fakeLanguageClientModule = {
  LanguageClient: FakeLanguageClient,
  State,
  DidChangeConfigurationNotification,
};

// Importing this file makes `vscode-languageclient/node` resolve to the fake.
replacements.set('vscode-languageclient/node', fakeLanguageClientModule);
