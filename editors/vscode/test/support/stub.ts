// A do-nothing value for the parts of the `vscode` API a test does not care about: any property is
// another stub, calling or constructing one returns a stub, and `dispose()` does nothing.

export function stub(name: string): unknown {
  const target = function () {
    return undefined;
  };
  return new Proxy(target, {
    get(_target, property) {
      if (property === 'then') return undefined; // not a promise
      if (property === Symbol.toPrimitive) return () => name;
      if (property === 'dispose') return () => undefined;
      return stub(`${name}.${String(property)}`);
    },
    apply: () => stub(`${name}()`),
    construct: () => stub(`new ${name}`) as object,
  });
}

/** `known`, with a stub for every property it does not have. */
export function withStubs<T extends object>(name: string, known: T): T {
  return new Proxy(known, {
    get(target, property) {
      if (property in target) return (target as Record<string | symbol, unknown>)[property];
      if (property === 'then') return undefined;
      if (property === '__esModule') return true; // `import * as` uses the object as it is
      return stub(`${name}.${String(property)}`);
    },
  });
}
