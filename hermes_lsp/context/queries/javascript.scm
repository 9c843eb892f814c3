; JavaScript (and JSX).
(class_declaration name: (identifier) @name) @definition.class
(class name: (identifier) @name) @definition.class
(class_heritage (identifier) @name) @reference.class
(call_expression function: (identifier) @_req arguments: (arguments (string)) (#eq? @_req "require")) @import
