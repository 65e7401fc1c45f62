; inherits: c
; C++'s declarations beside C's. Captures are documented in ../README.md.

(class_specifier name: (_) @name body: (_) @body) @definition.class
(function_definition declarator: (function_declarator declarator: [(field_identifier) (qualified_identifier) (operator_name)] @name) body: (_) @body) @definition.function
(field_declaration declarator: (function_declarator declarator: (field_identifier) @name)) @definition.method
(alias_declaration name: (_) @name) @definition.type
