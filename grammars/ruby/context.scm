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

(body_statement) @block
(block_body) @block
(then) @block
(else) @block
(ensure) @block
(begin) @block
(do) @block
; An empty body has no node: the construct itself stands in for it.
(method !body) @block
(singleton_method !body) @block
(class !body) @block
(module !body) @block
(singleton_class !body) @block
(do_block !body) @block

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
