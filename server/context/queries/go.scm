; Lathe tags for Go. Every pattern is rooted at its tagged node (see language.rs).

(function_declaration name: (identifier) @name) @definition.function
(method_declaration name: (field_identifier) @name) @definition.method
(type_spec name: (type_identifier) @name type: (struct_type)) @definition.struct
(type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface
(type_spec name: (type_identifier) @name) @definition.type
(type_alias name: (type_identifier) @name) @definition.type
(method_elem name: (field_identifier) @name) @definition.method
((const_spec name: (identifier) @name) @definition.constant
  (#set! scope "top"))
((var_spec name: (identifier) @name) @definition.variable
  (#set! scope "top"))

(call_expression function: (identifier) @name) @reference.call
(call_expression function: (selector_expression field: (field_identifier) @name)) @reference.call
(type_identifier) @name @reference.type
(composite_literal type: (qualified_type name: (type_identifier) @name)) @reference.type

(import_declaration) @import
