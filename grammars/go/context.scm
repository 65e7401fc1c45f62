; Context captures for Go. Capture names are documented in ../README.md.

(function_declaration) @scope
(method_declaration) @scope
(func_literal) @scope
; Struct and interface types are units worth keeping whole.
(type_declaration
  (type_spec type: [(struct_type) (interface_type)])) @scope

(block) @block
; Case bodies are bare statement lists between `case x:` and the next case.
(expression_case (statement_list) @block)
(type_case (statement_list) @block)
(default_case (statement_list) @block)
(communication_case (statement_list) @block)

(comment) @comment

(interpreted_string_literal) @string
(raw_string_literal) @string
(rune_literal) @string

(package_clause) @import
(import_declaration) @import
