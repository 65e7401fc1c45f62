; Context captures for Rust. Capture names are documented in ../README.md.

(function_item) @scope
(impl_item) @scope
(trait_item) @scope
(struct_item) @scope
(enum_item) @scope
(union_item) @scope
(mod_item body: (declaration_list)) @scope
(macro_definition) @scope
(closure_expression body: (block)) @scope

(line_comment) @comment
(block_comment) @comment

(string_literal) @string
(raw_string_literal) @string
(char_literal) @string

(use_declaration) @import
(extern_crate_declaration) @import
; `mod foo;` declares a file module; a `mod foo { ... }` is code.
(mod_item !body) @import
; Crate-level attributes (#![...]) sit in the header.
(inner_attribute_item) @import
(shebang) @import.skip
