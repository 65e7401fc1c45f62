; Context captures for C#. Capture names are documented in ../README.md.

(class_declaration) @scope
(struct_declaration) @scope
(interface_declaration) @scope
(record_declaration) @scope
(enum_declaration) @scope
(namespace_declaration) @scope
(method_declaration) @scope
(constructor_declaration) @scope
(destructor_declaration) @scope
(operator_declaration) @scope
(conversion_operator_declaration) @scope
(property_declaration accessors: (accessor_list)) @scope
(indexer_declaration) @scope
(local_function_statement) @scope
(lambda_expression body: (block)) @scope
(anonymous_method_expression) @scope

(comment) @comment

(string_literal) @string
(verbatim_string_literal) @string
(raw_string_literal) @string
(interpolated_string_expression) @string
(character_literal) @string
(interpolation) @interpolation

(using_directive) @import
(extern_alias_directive) @import
(file_scoped_namespace_declaration) @import
(global_attribute) @import
(shebang_directive) @import.skip
; Block-scoped namespaces: usings inside them continue the header.
(namespace_declaration) @import.container
(namespace_declaration body: (declaration_list) @import.container)
