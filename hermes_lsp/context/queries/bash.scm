; Bash: functions and the commands that call them.
(function_definition name: (word) @name) @definition.function
(command name: (command_name (word) @name)) @reference.call
(command name: (command_name (word) @_src) (#any-of? @_src "source" ".")) @import
