; Lathe tags for C. Every pattern is rooted at its tagged node (see language.rs).

(function_definition declarator: (function_declarator declarator: (identifier) @name)) @definition.function
(function_definition declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))) @definition.function
((declaration declarator: (function_declarator declarator: (identifier) @name)) @definition.function
  (#set! scope "top"))
((declaration declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))) @definition.function
  (#set! scope "top"))
(struct_specifier name: (type_identifier) @name body: (_)) @definition.struct
(union_specifier name: (type_identifier) @name body: (_)) @definition.struct
(enum_specifier name: (type_identifier) @name body: (_)) @definition.enum
(type_definition declarator: (type_identifier) @name) @definition.type
(preproc_def name: (identifier) @name) @definition.macro
(preproc_function_def name: (identifier) @name) @definition.macro

(call_expression function: (identifier) @name) @reference.call
(call_expression function: (field_expression field: (field_identifier) @name)) @reference.call
(type_identifier) @name @reference.type

(preproc_include) @import
