; Python: classes, functions (methods get their owner from nesting), module constants.
(class_definition name: (identifier) @name) @definition.class
(function_definition name: (identifier) @name) @definition.function
(module (expression_statement (assignment left: (identifier) @name)) @definition.constant)

(call function: (identifier) @name) @reference.call
(call function: (attribute attribute: (identifier) @name)) @reference.call
(attribute attribute: (identifier) @name) @reference.member
(class_definition superclasses: (argument_list (identifier) @name) @reference.class)
(type (identifier) @name) @reference.type
(decorator (identifier) @name) @reference.call

(import_statement) @import
(import_from_statement) @import
