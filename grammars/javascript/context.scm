; Context captures for JavaScript; typescript/context.scm inherits them.
; Capture names are documented in ../README.md.

(function_declaration) @scope
(generator_function_declaration) @scope
(function_expression) @scope
(generator_function) @scope
(method_definition) @scope
(class_declaration) @scope
(class) @scope
; Arrow functions only when they have a block body: an expression body is
; part of the statement around it.
(arrow_function body: (statement_block)) @scope

(comment) @comment
(hash_bang_line) @comment

(string) @string
(template_string) @string
(regex) @string
(template_substitution) @interpolation

(import_statement) @import
; Re-exports name other modules just like imports do.
(export_statement source: (string)) @import
; CommonJS: const x = require("x");
(lexical_declaration
  (variable_declarator
    value: (call_expression
      function: (identifier) @_fn
      (#eq? @_fn "require")))) @import
(variable_declaration
  (variable_declarator
    value: (call_expression
      function: (identifier) @_fn
      (#eq? @_fn "require")))) @import
(expression_statement
  (call_expression
    function: (identifier) @_fn
    (#eq? @_fn "require"))) @import

; "use strict" and other directive prologues may precede the imports. Not
; rooted at (program): a pattern there makes every query walk all its children.
(expression_statement . (string) .) @import.skip
