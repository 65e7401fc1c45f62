; inherits: javascript
; TypeScript's declarations beside JavaScript's. Captures are documented in ../README.md.

(abstract_class_declaration name: (_) @name body: (_) @body) @definition.class
(interface_declaration name: (_) @name body: (_) @body) @definition.interface
(type_alias_declaration name: (_) @name value: (_) @body) @definition.type
(enum_declaration name: (_) @name body: (_) @body) @definition.enum
(function_signature name: (_) @name) @definition.function
(method_signature name: (_) @name) @definition.method
