; Context captures for Python. Capture names are documented in ../README.md.

; @scope: units the context window keeps whole. A decorated definition is
; captured as well as the definition inside it, so the decorators can be kept
; with it.
(function_definition) @scope
(class_definition) @scope
(decorated_definition) @scope

(comment) @comment

; The whole string node, prefix and quotes included; f-string replacement
; fields are code again.
(string) @string
(interpolation) @interpolation

; @import: the file header.
(future_import_statement) @import
(import_statement) @import
(import_from_statement) @import

; `try: import x` / `except ImportError:` fallbacks and `if TYPE_CHECKING:`
; import blocks belong to the header too.
(try_statement
  body: (block . [(import_statement) (import_from_statement)])) @import
(if_statement
  condition: [(identifier) (attribute)] @_cond
  (#match? @_cond "TYPE_CHECKING$")) @import

; A module docstring may come before the imports without ending the header.
; Only top-level nodes are looked at for the header, so no (module ...) parent
; is needed, and a pattern rooted at the module would make every query walk all
; of its children.
(expression_statement . (string) .) @import.skip
