"""Compiling and rendering one template string, through the sandbox's checks.

At compile time (what the seed's validation runs too): filters, tests and tags outside the
allow-lists, and any `secret()` not placed whole, are refused (InvalidTemplate); loops, `~`,
literals and template text are rewritten so budget.py measures them. At run time every
failure of the template becomes a RenderError naming its field.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from jinja2 import Template as JinjaTemplate
from jinja2 import TemplateError, TemplateSyntaxError, nodes
from jinja2.environment import TemplateExpression
from jinja2.parser import Parser
from jinja2.visitor import NodeTransformer

from .budget import current_state, too_big
from .errors import GenericApiCallError, InvalidTemplate, RenderError
from .limits import MAX_BLOCK_NESTING, MAX_RENDERED_CHARS, MAX_TEMPLATE_DEPTH
from .sandbox import ALLOWED_FILTERS, ALLOWED_TESTS, ENVIRONMENTS, FORBIDDEN_TAGS, SandboxEnvironment

# --- compiling ---------------------------------------------------------------------------

class _NotAllowed(Exception):
    """A template uses a filter, test or tag outside the allow-lists."""


class _Guards(NodeTransformer):
    """Rewrites loops, `~`, literals and template text so the budgets apply to them."""

    # generic_visit transforms the children in place and returns the node itself.

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _internal_filter("loop_guard", cast(nodes.Expr, node.iter))
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        # Literal text bypasses finalize; as an expression it is counted like any output.
        self.generic_visit(node)
        node.nodes = [
            _internal_filter("literal", nodes.Const(child.data, lineno=child.lineno))
            if isinstance(child, nodes.TemplateData) else child
            for child in node.nodes
        ]
        return node

    def visit_List(self, node: nodes.List) -> nodes.Node:
        self.generic_visit(node)
        return _internal_filter("built", node)

    def visit_Dict(self, node: nodes.Dict) -> nodes.Node:
        self.generic_visit(node)
        return _internal_filter("built", node)

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        self.generic_visit(node)
        return _internal_filter("built", node) if node.ctx == "load" else node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _internal_filter("tilde", nodes.List(node.nodes, lineno=node.lineno))


def _internal_filter(name: str, node: nodes.Expr) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


_SECRET_ENCODINGS = frozenset({"tojson", "urlencode"})  # their output forms are masked (secrets.forms)
_BUFFERING = (nodes.AssignBlock, nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.Block)
_SECRET_RULE = (
    "secret() may only be placed whole: {{ secret('name') }}, or piped once into |tojson or |urlencode, "
    "outside {% set %} blocks, macros, {% call %}, {% filter %} and {% block %}"
)


def _secret_names(ast: nodes.Template, expression: bool) -> frozenset[str]:
    """Names of the secrets a template uses; _NotAllowed unless each is placed whole (see secrets.py).

    A secret's value then reaches the output unchanged (or through an encoding whose forms
    are masked): the template cannot slice, compare, concatenate or transform it.
    """
    names: set[str] = set()
    root = ast.body[0] if expression else None

    def placed(parent: nodes.Node | None, grandparent: nodes.Node | None, buffered: bool, call: nodes.Call) -> bool:
        if parent is root or (isinstance(parent, nodes.Output) and not buffered):
            return True
        return (
            isinstance(parent, nodes.Filter) and parent.node is call and parent.name in _SECRET_ENCODINGS
            and not parent.args and not parent.kwargs and parent.dyn_args is None and parent.dyn_kwargs is None
            and (grandparent is root or (isinstance(grandparent, nodes.Output) and not buffered))
        )

    def walk(node: nodes.Node, parent: nodes.Node | None, grandparent: nodes.Node | None, buffered: bool) -> None:
        called = isinstance(parent, nodes.Call) and parent.node is node
        if isinstance(node, nodes.Name) and node.name == "secret" and node.ctx == "load" and not called:
            raise _NotAllowed(_SECRET_RULE)
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "secret":
            argument = node.args[0] if len(node.args) == 1 else None
            if (node.kwargs or node.dyn_args is not None or node.dyn_kwargs is not None
                    or not isinstance(argument, nodes.Const) or not isinstance(argument.value, str)):
                raise _NotAllowed("secret() takes one literal name, e.g. secret('ssm:/api/token')")
            if not placed(parent, grandparent, buffered, node):
                raise _NotAllowed(_SECRET_RULE)
            names.add(argument.value)
        inner = buffered or isinstance(node, _BUFFERING)
        for child in node.iter_child_nodes():
            walk(child, node, parent, inner)

    walk(ast, None, None, False)
    return frozenset(names)


# Statements with a body of their own: each is a nested block of the compiled Python code.
_BLOCKS: dict[type[nodes.Node], str] = {
    nodes.For: "for", nodes.If: "if", nodes.With: "with", nodes.Macro: "macro", nodes.CallBlock: "call",
    nodes.FilterBlock: "filter", nodes.AssignBlock: "set", nodes.Block: "block", nodes.Scope: "scope",
    nodes.ScopedEvalContextModifier: "autoescape",
}


def _checked_nesting(ast: nodes.Template) -> None:
    """Refuse, before Python compiles it, a template nested past MAX_BLOCK_NESTING or MAX_TEMPLATE_DEPTH
    (iteratively: the other walks over the tree recurse)."""
    pending: list[tuple[nodes.Node, int, int]] = [(ast, 0, 0)]
    while pending:
        node, depth, blocks = pending.pop()
        if type(node) in _BLOCKS:
            blocks += 1
            if blocks > MAX_BLOCK_NESTING:
                raise _NotAllowed(
                    f"{{% {_BLOCKS[type(node)]} %}} at line {node.lineno} is nested over {MAX_BLOCK_NESTING} blocks "
                    "deep ({% for %}, {% if %}, {% macro %}... count); flatten the template")
        if depth > MAX_TEMPLATE_DEPTH:
            raise _NotAllowed(
                f"the template at line {node.lineno} is nested over {MAX_TEMPLATE_DEPTH} levels deep (blocks, "
                "filters, brackets, operators); split the expression")
        pending.extend((child, depth + 1, blocks) for child in node.iter_child_nodes())


_CHECKED_NODES: tuple[type[nodes.Node], ...] = (nodes.Filter, nodes.Test, nodes.For, *FORBIDDEN_TAGS)


def _checked_ast(ast: nodes.Template) -> None:
    node: nodes.Node
    for node in ast.find_all(_CHECKED_NODES):
        if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            raise _NotAllowed(f"filter {node.name!r} is not allowed; allowed: {', '.join(sorted(ALLOWED_FILTERS))}")
        if isinstance(node, nodes.Test) and node.name not in ALLOWED_TESTS:
            raise _NotAllowed(f"test {node.name!r} is not allowed; allowed: {', '.join(sorted(ALLOWED_TESTS))}")
        if isinstance(node, nodes.For) and node.recursive:
            raise _NotAllowed("recursive loops are not allowed")
        if type(node) in FORBIDDEN_TAGS:
            raise _NotAllowed(f"{{% {FORBIDDEN_TAGS[type(node)]} %}} is not allowed: templates cannot load others")


def _prepared(
    environment: SandboxEnvironment, ast: nodes.Template, expression: bool
) -> tuple[nodes.Template, frozenset[str]]:
    _checked_nesting(ast)
    _checked_ast(ast)
    names = _secret_names(ast, expression)
    ast = _Guards().visit(ast)
    ast.set_environment(environment)
    return ast, names


@functools.lru_cache(maxsize=256)
def _compiled(kind: str, source: str) -> tuple[JinjaTemplate, frozenset[str]]:
    environment = ENVIRONMENTS[kind]
    ast, names = _prepared(environment, environment.parse(source), expression=False)
    return environment.from_string(ast), names


@functools.lru_cache(maxsize=256)
def _compiled_expression(source: str) -> tuple[TemplateExpression, frozenset[str]]:
    """Like Environment.compile_expression, but through the same checks as templates."""
    environment = ENVIRONMENTS["text"]
    parser = Parser(environment, source, state="variable")
    expression = parser.parse_expression()
    if not parser.stream.eos:
        raise TemplateSyntaxError("chunk after expression", parser.stream.current.lineno, None, None)
    ast = nodes.Template([nodes.Assign(nodes.Name("result", "store"), expression, lineno=1)], lineno=1)
    prepared, names = _prepared(environment, ast, expression=True)
    return TemplateExpression(environment.from_string(prepared), undefined_to_none=False), names


def compile_source(kind: str, source: str, where: str) -> Any:
    """A compiled template (kind "text" or "url") or expression; InvalidTemplate if refused."""
    return _compile(kind, source, where)[0]


def secrets_used(kind: str, source: str, where: str) -> frozenset[str]:
    """The secret names a template string uses (each placed whole); InvalidTemplate if refused."""
    return _compile(kind, source, where)[1]


def _compile(kind: str, source: str, where: str) -> tuple[Any, frozenset[str]]:
    try:
        return _compiled_expression(source) if kind == "expression" else _compiled(kind, source)
    except TemplateSyntaxError as exc:  # TemplateAssertionError (unknown filter...) too
        raise InvalidTemplate(f"{where}: Jinja syntax error: {exc.message} (line {exc.lineno})") from exc
    except _NotAllowed as exc:
        raise InvalidTemplate(f"{where}: {exc}") from exc
    except (RecursionError, MemoryError) as exc:  # Jinja's parser recurses, before the nesting check
        raise InvalidTemplate(f"{where}: template is nested too deeply") from exc
    except SyntaxError as exc:  # Python's compiler refused the generated code: a backstop of _checked_nesting
        raise InvalidTemplate(f"{where}: template too complex to compile ({exc.msg})") from exc
    except ValueError as exc:  # Jinja's lexer reads a literal of over 4,300 digits with int()
        raise InvalidTemplate(f"{where}: a literal Jinja cannot read ({exc})") from exc


# --- rendering one string ----------------------------------------------------------------

@contextmanager
def render_errors(where: str) -> Iterator[None]:
    """Anything a template does wrong at run time becomes a RenderError naming the field."""
    try:
        yield
    except RenderError as exc:
        raise RenderError(f"{where}: {exc}") from exc
    except GenericApiCallError:
        raise  # SecretNotAllowed and the resolver's own errors keep their type
    except TemplateError as exc:  # UndefinedError, SecurityError, ...
        raise RenderError(f"{where}: {exc.message or type(exc).__name__}") from exc
    except RecursionError as exc:
        raise RenderError(f"{where}: macros or blocks recurse too deeply") from exc
    except Exception as exc:  # the template is code: any failure of it is a render failure
        raise RenderError(f"{where}: {type(exc).__name__}: {exc}") from exc


def render_string(kind: str, source: str, context: dict[str, Any], where: str) -> str:
    """Compile and render one string (kind "text" or "url") within the caps."""
    template = compile_source(kind, source, where)
    with render_errors(where):
        chunks = template.generate(context)
        try:
            return _collect(chunks)
        finally:
            chunks.close()


def _collect(chunks: Iterator[str]) -> str:
    """Join streamed output, stopping as soon as a cap is passed."""
    state, parts, size = current_state(), [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_RENDERED_CHARS:
            raise too_big()
        state.add_output(len(chunk))
        parts.append(chunk)
    return "".join(parts)
