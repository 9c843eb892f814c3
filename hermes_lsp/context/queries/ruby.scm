; Ruby: classes, modules, methods, constants.
(class name: (constant) @name) @definition.class
(class name: (scope_resolution name: (constant) @name)) @definition.class
(module name: (constant) @name) @definition.module
(method name: (_) @name) @definition.method
(singleton_method name: (_) @name) @definition.method
(assignment left: (constant) @name) @definition.constant

(call method: (identifier) @name) @reference.call
(constant) @name @reference.class

(call method: (identifier) @_req (#any-of? @_req "require" "require_relative")) @import
