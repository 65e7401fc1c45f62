; Context captures for Lua. Capture names are documented in ../README.md.

(function_declaration) @scope
; Anonymous functions always have an `end`-delimited body.
(function_definition) @scope

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
