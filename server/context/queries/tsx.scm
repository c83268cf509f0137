; Lathe tags for TSX: appended to typescript.scm.

(jsx_opening_element name: (identifier) @name) @reference.call
(jsx_self_closing_element name: (identifier) @name) @reference.call
