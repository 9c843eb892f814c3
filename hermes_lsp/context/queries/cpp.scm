; C++: classes, namespaces and members, after C's patterns (c.scm comes first).

(class_specifier name: (type_identifier) @name body: (_)) @definition.class
(namespace_definition name: (namespace_identifier) @name) @definition.module
(function_definition declarator: (function_declarator declarator: (field_identifier) @name)) @definition.method
(field_declaration declarator: (function_declarator declarator: (field_identifier) @name)) @definition.method
(function_definition
  declarator: (function_declarator
    declarator: (qualified_identifier scope: (namespace_identifier) @scope name: (identifier) @name))) @definition.method
(call_expression function: (qualified_identifier name: (identifier) @name)) @reference.call
(using_declaration) @import
