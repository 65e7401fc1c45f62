; inherits: c
; C++ additions to the C captures. Capture names are documented in
; ../README.md.

(class_specifier body: (_)) @scope
(namespace_definition) @scope
(template_declaration) @scope
(lambda_expression body: (compound_statement)) @scope

(raw_string_literal) @string

(using_declaration) @import
(namespace_alias_definition) @import
