; Lathe tags for Python. Every pattern is rooted at its tagged node (see language.rs).

(class_definition name: (identifier) @name) @definition.class
(function_definition name: (identifier) @name) @definition.function
((expression_statement (assignment left: (identifier) @name)) @definition.variable
  (#set! scope "top"))

(call function: (identifier) @name) @reference.call
(call function: (attribute attribute: (identifier) @name)) @reference.call
(decorator (identifier) @name) @reference.call
(type (identifier) @name) @reference.type
(import_from_statement name: (dotted_name (identifier) @name .)) @reference.import
(aliased_import name: (dotted_name (identifier) @name .)) @reference.import

(import_statement) @import
(import_from_statement) @import
(future_import_statement) @import
