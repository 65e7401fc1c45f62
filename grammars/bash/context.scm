; Context captures for Bash. Capture names are documented in ../README.md.

(function_definition) @scope

(comment) @comment

(string) @string
(raw_string) @string
(ansi_c_string) @string
(translated_string) @string
(heredoc_body) @string
; Expansions inside double quotes and here-documents are code.
(expansion) @interpolation
(simple_expansion) @interpolation
(command_substitution) @interpolation
(arithmetic_expansion) @interpolation

; source/. pull in other scripts; set/shopt options sit in the header too.
(command
  name: (command_name) @_cmd
  (#any-of? @_cmd "source" "." "set" "shopt")) @import
