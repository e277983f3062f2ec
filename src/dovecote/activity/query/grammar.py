"""The Email Activity query grammar (lark, LALR(1)).

A string rather than a `.lark` file so it ships inside the package with no data-file
configuration. LALR parses in time linear in the query's length and never backtracks,
so a hostile query cannot make the parser slow.

Keywords are case-insensitive. NAME is case-insensitive too: lark then turns a NAME that
spells a keyword into that keyword (rather than lexing `notes` as NOT + `es`).
"""

from __future__ import annotations

GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: _NOT not_expr                        -> negation
         | "(" or_expr ")"
         | predicate

?predicate: field COMPARE value                 -> compare
          | field _BETWEEN value _AND value      -> between
          | field _NOT _BETWEEN value _AND value -> not_between
          | field _IN value_list                 -> in_list
          | field _NOT _IN value_list            -> not_in_list
          | field _IS _NULL                      -> is_null
          | field _IS _NOT _NULL                 -> is_not_null
          | field _LIKE value                    -> like
          | field _NOT _LIKE value               -> not_like
          | _CONTAINS "(" field "," value ")"    -> contains

field: NAME ("[" STRING "]")?
value_list: "(" value ("," value)* ")"
value: STRING                                    -> string
     | NUMBER                                    -> number
     | _TIMESTAMP STRING                         -> timestamp

COMPARE: "=" | "!=" | "<>" | "<=" | ">=" | "<" | ">"
_OR: "or"i
_AND: "and"i
_NOT: "not"i
_BETWEEN: "between"i
_IN: "in"i
_IS: "is"i
_NULL: "null"i
_LIKE: "like"i
_CONTAINS: "contains"i
_TIMESTAMP: "timestamp"i

NAME: /[a-z_][a-z0-9_]*/i
NUMBER: /-?[0-9]+(\.[0-9]+)?/
STRING: /"(?:[^"\\]|\\.)*"/s | /'(?:[^'\\]|\\.)*'/s

%import common.WS
%ignore WS
"""
