; Lathe tags for JavaScript and JSX. Every pattern is rooted at its tagged node
; (see language.rs).

(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function
(class_declaration name: (identifier) @name) @definition.class
(method_definition name: (property_identifier) @name) @definition.method
((lexical_declaration
   (variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression)])) @definition.function
  (#set! scope "top"))
((variable_declaration
   (variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression)])) @definition.function
  (#set! scope "top"))
((lexical_declaration (variable_declarator name: (identifier) @name)) @definition.constant
  (#set! scope "top"))
((expression_statement
   (assignment_expression
     left: (member_expression property: (property_identifier) @name)
     right: [(arrow_function) (function_expression)])) @definition.function
  (#set! scope "top"))

(call_expression function: (identifier) @name) @reference.call
(call_expression function: (member_expression property: (property_identifier) @name)) @reference.call
(new_expression constructor: (identifier) @name) @reference.class
(class_heritage (identifier) @name) @reference.class
(import_specifier name: (identifier) @name) @reference.import
(import_clause (identifier) @name) @reference.import
(jsx_opening_element name: (identifier) @name) @reference.call
(jsx_self_closing_element name: (identifier) @name) @reference.call

(import_statement) @import
