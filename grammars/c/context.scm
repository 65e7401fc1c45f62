; Context captures for C; cpp/context.scm inherits them. Capture names are
; documented in ../README.md.

(function_definition) @scope
(struct_specifier body: (_)) @scope
(union_specifier body: (_)) @scope
(enum_specifier body: (_)) @scope

(comment) @comment

(string_literal) @string
(char_literal) @string
(system_lib_string) @string

; The preprocessor header: includes, macros, pragmas.
(preproc_include) @import
(preproc_def) @import
(preproc_function_def) @import
(preproc_call) @import

; Include guards and conditional includes: their leading children continue
; the header (see README.md).
(preproc_ifdef) @import.container
(preproc_if) @import.container
(preproc_else) @import.container
(preproc_elif) @import.container
