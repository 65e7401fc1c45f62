; Context captures for Ruby. Capture names are documented in ../README.md.

(method) @scope
(singleton_method) @scope
(class) @scope
(singleton_class) @scope
(module) @scope
; Blocks are closures.
(do_block) @scope
(block) @scope
(lambda) @scope

(comment) @comment

(string) @string
(heredoc_body) @string
(regex) @string
(subshell) @string
(string_array) @string
(symbol_array) @string
(delimited_symbol) @string
(character) @string
(interpolation) @interpolation

(call
  method: (identifier) @_fn
  (#any-of? @_fn "require" "require_relative" "load" "autoload")
  !receiver) @import
