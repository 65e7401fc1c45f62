; Definitions and imports for the workspace index. Captures are documented in ../README.md.

(function_item name: (_) @name body: (_) @body) @definition.function
(function_signature_item name: (_) @name) @definition.function
(struct_item name: (_) @name) @definition.struct
(enum_item name: (_) @name) @definition.enum
(trait_item name: (_) @name body: (_) @body) @definition.trait
(type_item name: (_) @name) @definition.type
(const_item name: (_) @name) @definition.constant
(static_item name: (_) @name) @definition.constant
(macro_definition name: (_) @name) @definition.macro
; An impl block holds methods: its type names them.
(impl_item type: (_) @name body: (_) @body) @definition.impl

(use_declaration argument: (_) @import.module) @import
; `mod foo;` (no body) brings in foo.rs or foo/mod.rs.
(mod_item name: (_) @import.mod !body) @import
