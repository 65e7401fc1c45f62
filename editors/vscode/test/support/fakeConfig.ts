// An in-memory `WorkspaceConfiguration` for one section, with the default, user and workspace
// layers that `inspect()` reports and language overrides that `get()` applies for a language scope.

export type Layer = 'global' | 'workspace';

export class FakeConfiguration {
  readonly defaults = new Map<string, unknown>();
  readonly global = new Map<string, unknown>();
  readonly workspace = new Map<string, unknown>();
  /** languageId -> key -> value, as `"[python]": {"codellama.enabled": false}` in settings.json. */
  readonly languages = new Map<string, Map<string, unknown>>();
  /** Every `update()` call, oldest first. */
  readonly updates: Array<{ key: string; value: unknown; target: unknown }> = [];
  /** Called after each `update()` with the changed key. */
  onUpdate: ((key: string) => void) | undefined;

  constructor(defaults: Map<string, unknown> = new Map(), user: Record<string, unknown> = {}) {
    for (const [key, value] of defaults) {
      this.defaults.set(key, value);
    }
    for (const [key, value] of Object.entries(user)) {
      this.global.set(key, value);
    }
  }

  /** A view as `vscode.workspace.getConfiguration(section, scope)` returns it. */
  view(languageId?: string) {
    const get = <T>(key: string, fallback?: T): T | undefined => {
      const language = languageId === undefined ? undefined : this.languages.get(languageId);
      for (const layer of [language, this.workspace, this.global, this.defaults]) {
        if (layer !== undefined && layer.has(key)) {
          return layer.get(key) as T;
        }
      }
      return fallback;
    };
    return {
      get,
      has: (key: string) => get(key) !== undefined,
      inspect: <T>(key: string) => ({
        key,
        defaultValue: this.defaults.get(key) as T | undefined,
        globalValue: this.global.get(key) as T | undefined,
        workspaceValue: this.workspace.get(key) as T | undefined,
        workspaceFolderValue: undefined as T | undefined,
      }),
      update: async (key: string, value: unknown, target?: unknown) => {
        this.updates.push({ key, value, target });
        const layer = target === 2 || target === 3 ? this.workspace : this.global;
        if (value === undefined) {
          layer.delete(key);
        } else {
          layer.set(key, value);
        }
        this.onUpdate?.(key);
      },
    };
  }
}
