// VS Code settings -> what the server receives.  Pure: no `vscode` import, so the unit
// tests and the protocol test build exactly what the extension sends.
//
// The server resolves its settings in layers: defaults < config file < environment <
// initializationOptions < workspace/didChangeConfiguration.  The extension therefore sends only
// the settings the user has set somewhere in VS Code (user, workspace or folder settings).  A value
// left at its default is not sent, so `~/.config/codellama-ls/config.toml` and CODELLAMA_LS_*
// variables keep working for everything VS Code does not set.

import * as path from 'node:path';

export const SECTION = 'codellama';

/** Settings only the extension reads; every other `codellama.*` setting goes to the server. */
export const CLIENT_KEYS: readonly string[] = ['serverPath', 'serverArgs', 'completionItems', 'trace.server'];

/** Changing one of these starts a new server process. */
export const RESTART_KEYS: readonly string[] = ['serverPath', 'serverArgs'];

/** Server settings that make it load the model again (it does so by itself). */
export const RELOAD_KEYS: readonly string[] = [
  'model', 'modelDir', 'engine', 'engineTransport', 'engineUrl', 'engineApiKeyEnv', 'engineModel', 'engineTimeoutMs',
  'nGpuLayers', 'nCtx', 'nThreads', 'nBatch', 'stateCacheMb',
];

/** Server settings whose string value may name a file: `~` and `${userHome}` are expanded. */
export const PATH_KEYS: readonly string[] = ['model', 'instructModel', 'pythonModel', 'modelDir'];

/**
 * User settings only (package.json scope `machine`): the program started and the file llama.cpp
 * reads.  A repository's `.vscode/settings.json` must not choose them, so only the user value is
 * read (VS Code ignores workspace values of `machine` settings; this does not rely on it), and
 * nothing in them is taken from the workspace folder: no `${workspaceFolder}`, no relative path.
 */
export const MACHINE_KEYS: readonly string[] = [
  'serverPath', 'serverArgs', 'model', 'instructModel', 'pythonModel', 'modelDir',
];

export const DEFAULT_SERVER_PATH = 'codellama-ls';

export type Settings = Record<string, unknown>;

/** The part of `vscode.WorkspaceConfiguration.inspect()` we read. */
export interface Inspected<T = unknown> {
  defaultValue?: T;
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

/** The part of `vscode.WorkspaceConfiguration` we read (for the section `codellama`). */
export interface ConfigReader {
  get<T>(key: string): T | undefined;
  inspect<T>(key: string): Inspected<T> | undefined;
}

export interface Context {
  /** fsPath of the first workspace folder, if any. */
  workspaceFolder?: string;
  /** The user's home directory. */
  home: string;
}

interface PackageJson {
  contributes?: { configuration?: ConfigurationBlock | ConfigurationBlock[] };
}

interface ConfigurationBlock {
  properties?: Record<string, { default?: unknown }>;
}

/** `codellama.*` settings contributed by package.json: key (without the prefix) -> default. */
export function contributedDefaults(packageJson: unknown): Map<string, unknown> {
  const contributes = (packageJson as PackageJson).contributes ?? {};
  const configuration = contributes.configuration ?? [];
  const blocks = Array.isArray(configuration) ? configuration : [configuration];
  const defaults = new Map<string, unknown>();
  for (const block of blocks) {
    for (const [name, schema] of Object.entries(block.properties ?? {})) {
      if (name.startsWith(`${SECTION}.`)) {
        defaults.set(name.slice(SECTION.length + 1), schema.default);
      }
    }
  }
  return defaults;
}

/** Keys (camelCase, as the server accepts them) of the settings the server reads. */
export function serverKeys(packageJson: unknown): string[] {
  return [...contributedDefaults(packageJson).keys()].filter((key) => !CLIENT_KEYS.includes(key));
}

/**
 * The value the user set, most specific scope first; undefined when only the default applies.
 * For `MACHINE_KEYS`, only the user settings' value.
 */
export function userValue<T>(inspected: Inspected<T> | undefined, key = ''): T | undefined {
  if (inspected === undefined) {
    return undefined;
  }
  if (MACHINE_KEYS.includes(key)) {
    return inspected.globalValue;
  }
  return inspected.workspaceFolderValue ?? inspected.workspaceValue ?? inspected.globalValue;
}

/** Replace `${workspaceFolder}` (when the context has a folder), `${userHome}` and a leading `~`. */
export function expandVariables(value: string, context: Context): string {
  let out = value.replace(/\$\{userHome\}/g, context.home);
  if (context.workspaceFolder !== undefined) {
    out = out.replace(/\$\{workspaceFolder\}/g, context.workspaceFolder);
  }
  if (out === '~') {
    return context.home;
  }
  if (out.startsWith('~/') || out.startsWith('~\\')) {
    return path.join(context.home, out.slice(2));
  }
  return out;
}

/**
 * The settings the user set in VS Code, as `initializationOptions` / didChangeConfiguration
 * settings: camelCase keys at the top level, only explicitly set values.
 */
export function explicitSettings(config: ConfigReader, keys: readonly string[], context: Context): Settings {
  const settings: Settings = {};
  for (const key of keys) {
    let value = userValue(config.inspect(key), key);
    if (value === undefined || value === null) {
      continue;
    }
    if (PATH_KEYS.includes(key) && typeof value === 'string') {
      value = expandVariables(value, MACHINE_KEYS.includes(key) ? { home: context.home } : context);
    }
    settings[key] = value;
  }
  return settings;
}

/**
 * The settings for workspace/didChangeConfiguration.  The server's layer for that notification
 * replaces the previous one but sits above the initializationOptions layer, so a setting that was
 * sent at start and has been removed since must be sent as its default, or the stale start value
 * would stay in force until the next restart.
 */
export function changedSettings(sentAtStart: Settings, now: Settings, defaults: Map<string, unknown>): Settings {
  const out: Settings = { ...now };
  for (const key of Object.keys(sentAtStart)) {
    if (!(key in out) && defaults.has(key)) {
      out[key] = defaults.get(key);
    }
  }
  return out;
}

/** Keys whose value differs between two settings objects. */
export function changedKeys(before: Settings, after: Settings): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
}

export interface ServerCommand {
  command: string;
  args: string[];
  cwd?: string;
  /** Why the command is not started; undefined when it may be. */
  problem?: string;
}

/**
 * The executable and arguments, from user settings only: a bare name is looked up on PATH; `~`
 * and `${userHome}` are expanded; a relative path is refused, since it would resolve inside
 * whatever folder is open.  The server runs in the home directory, not in the workspace.
 */
export function serverCommand(config: ConfigReader, context: Context): ServerCommand {
  const raw = (userValue(config.inspect<string>('serverPath'), 'serverPath') ?? '').trim() || DEFAULT_SERVER_PATH;
  const command = expandVariables(raw, { home: context.home });
  const rawArgs = userValue(config.inspect<unknown>('serverArgs'), 'serverArgs');
  const args = Array.isArray(rawArgs) ? rawArgs.filter((arg): arg is string => typeof arg === 'string') : [];
  const result: ServerCommand = { command, args, cwd: context.home };
  if ((command.includes('/') || command.includes('\\')) && !path.isAbsolute(command)) {
    result.problem =
      'codellama.serverPath must be a name on PATH, an absolute path or ~/...: a relative path would run a program from the open folder';
  }
  return result;
}

export type Target = 'global' | 'workspace' | 'workspaceFolder';

/** Where `Toggle Completions` writes: the most specific scope that sets `enabled` now, else user settings. */
export function toggleTarget(inspected: Inspected<boolean> | undefined): Target {
  if (inspected?.workspaceFolderValue !== undefined) {
    return 'workspaceFolder';
  }
  if (inspected?.workspaceValue !== undefined) {
    return 'workspace';
  }
  return 'global';
}
