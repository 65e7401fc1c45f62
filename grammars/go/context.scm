; Context captures for Go. Capture names are documented in ../README.md.

(function_declaration) @scope
(method_declaration) @scope
(func_literal) @scope
; Struct and interface types are units worth keeping whole.
(type_declaration
  (type_spec type: [(struct_type) (interface_type)])) @scope

(comment) @comment

(interpreted_string_literal) @string
(raw_string_literal) @string
(rune_literal) @string

(package_clause) @import
(import_declaration) @import
