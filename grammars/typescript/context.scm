; inherits: javascript
; TypeScript additions to the JavaScript captures. Capture names are
; documented in ../README.md.

(abstract_class_declaration) @scope
(interface_declaration) @scope
(enum_declaration) @scope
(internal_module) @scope

; `import x = require("x")` is an import_statement already; a bare
; `import x = N.y` alias is header material too.
(import_alias) @import
