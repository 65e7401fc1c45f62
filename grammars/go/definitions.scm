; Definitions and imports for the workspace index. Captures are documented in ../README.md.

(function_declaration name: (_) @name body: (_) @body) @definition.function
(method_declaration receiver: (parameter_list (parameter_declaration type: [(type_identifier) (pointer_type (type_identifier)) (generic_type)] @container)) name: (_) @name body: (_) @body) @definition.method
(type_spec name: (_) @name type: (_) @body) @definition.type
(const_spec name: (_) @name) @definition.constant

(import_spec name: (_)? @import.alias path: (_) @import.module) @import
