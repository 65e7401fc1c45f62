; Context captures for PHP. Capture names are documented in ../README.md.

(function_definition) @scope
(method_declaration) @scope
(class_declaration) @scope
(interface_declaration) @scope
(trait_declaration) @scope
(enum_declaration) @scope
(anonymous_function) @scope
(anonymous_class) @scope

(comment) @comment

(string) @string
(encapsed_string) @string
(heredoc) @string
(nowdoc) @string
(shell_command_expression) @string

(php_tag) @import.skip
(declare_statement) @import
(namespace_use_declaration) @import
; `namespace App;` is header; `namespace App { ... }` wraps one.
(namespace_definition !body) @import
(namespace_definition body: (compound_statement)) @import.container
(namespace_definition body: (compound_statement) @import.container)
(expression_statement
  [(require_expression)
   (require_once_expression)
   (include_expression)
   (include_once_expression)]) @import
