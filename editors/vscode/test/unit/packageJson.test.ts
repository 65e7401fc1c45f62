import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packageJson } from '../support/vscode';

type Schema = {
  type: string;
  scope?: string;
  default: unknown;
  description?: string;
  markdownDescription?: string;
  enum?: unknown[];
  enumDescriptions?: string[];
  minimum?: number;
  maximum?: number;
};

const properties = Object.entries<Schema>(packageJson.contributes.configuration.properties);

test('every setting is described and its default fits its schema', () => {
  for (const [name, schema] of properties) {
    assert.match(name, /^codellama\./);
    assert.ok(schema.description || schema.markdownDescription, `${name} has a description`);
    const value = schema.default;
    switch (schema.type) {
      case 'integer':
        assert.ok(Number.isInteger(value), name);
        break;
      case 'number':
        assert.equal(typeof value, 'number', name);
        break;
      case 'array':
        assert.ok(Array.isArray(value), name);
        break;
      default:
        assert.equal(typeof value, schema.type, name);
    }
    if (schema.enum) {
      assert.ok(schema.enum.includes(value), name);
      if (schema.enumDescriptions) {
        assert.equal(schema.enumDescriptions.length, schema.enum.length, name);
      }
    }
    if (typeof value === 'number') {
      assert.ok(schema.minimum === undefined || value >= schema.minimum, name);
      assert.ok(schema.maximum === undefined || value <= schema.maximum, name);
    }
  }
});

test('the program, its arguments, the model and the model folder are user settings only (scope machine)', () => {
  const all = packageJson.contributes.configuration.properties as Record<string, Schema>;
  for (const key of ['serverPath', 'serverArgs', 'model', 'modelDir']) {
    assert.equal(all[`codellama.${key}`].scope, 'machine', key);
  }
});

test('fimFormat offers the server formats', () => {
  const fim = packageJson.contributes.configuration.properties['codellama.fimFormat'] as Schema;
  assert.deepEqual(fim.enum, ['auto', 'psm', 'spm', 'line', 'none']);
});

test('the extension entry point is the compiled extension and the engine fits vscode-languageclient 10', () => {
  assert.equal(packageJson.main, './out/src/extension.js');
  assert.match(packageJson.dependencies['vscode-languageclient'], /^\^10\./);
  assert.equal(packageJson.engines.vscode, '^1.91.0');
  assert.equal(packageJson.devDependencies['@types/vscode'], '1.91.0');
});
