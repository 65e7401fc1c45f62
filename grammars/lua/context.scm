; Context captures for Lua. Capture names are documented in ../README.md.

(function_declaration) @scope
; Anonymous functions always have an `end`-delimited body.
(function_definition) @scope

(block) @block
; An empty body has no block node: the construct itself stands in for it.
(function_declaration !body) @block
(function_definition !body) @block
(do_statement !body) @block
(while_statement !body) @block
(repeat_statement !body) @block
(for_statement !body) @block
(if_statement !consequence) @block
(elseif_statement !consequence) @block
(else_statement !body) @block

(comment) @comment
(hash_bang_line) @comment

; Long strings ([[...]], [==[...]==]) are string nodes too.
(string) @string

; local x = require("x") / local x = require "x" / require("x")
(variable_declaration
  (assignment_statement
    (expression_list
      .
      (function_call
        name: (identifier) @_fn
        (#eq? @_fn "require"))))) @import
(function_call
  name: (identifier) @_fn
  (#eq? @_fn "require")) @import
