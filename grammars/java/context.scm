; Context captures for Java. Capture names are documented in ../README.md.

(class_declaration) @scope
(interface_declaration) @scope
(enum_declaration) @scope
(record_declaration) @scope
(annotation_type_declaration) @scope
(method_declaration) @scope
(constructor_declaration) @scope
(compact_constructor_declaration) @scope
(lambda_expression body: (block)) @scope
; Anonymous classes: new Foo() { ... }
(object_creation_expression (class_body)) @scope

(line_comment) @comment
(block_comment) @comment

; Text blocks ("""...""") are string_literal nodes too.
(string_literal) @string
(character_literal) @string
(string_interpolation) @interpolation

(package_declaration) @import
(import_declaration) @import
