"""Python files read with ``ast``: the environment variables they read, the hosts they connect
to, and the strings they hold that are hosts or paths.

Docstrings and other bare string statements describe; they reach nothing, and are skipped.
A read of ``os.environ`` by a computed name, or the environment handed on whole (copied,
passed to a child), is noted: which secrets such code uses cannot be told from its text.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from runtime.check.vet.uses import Use, UseKind, credential_location, hosts_in, paths_in
from runtime.sandbox.egress.policy import authority, normalize_host

__all__ = ["PythonScan", "parse_python", "scan_python"]

_ENVIRON = frozenset({"environ", "environb"})
_GETENV = frozenset({"getenv", "getenvb"})
_ENV_METHODS = frozenset({"get", "setdefault", "pop", "__getitem__", "__contains__"})
# Calls whose first argument is a host (or a (host, port) pair).
_CONNECTS = frozenset(
    {
        *("create_connection", "connect", "connect_ex", "getaddrinfo", "gethostbyname"),
        *("HTTPConnection", "HTTPSConnection", "FTP", "SMTP", "SMTP_SSL", "Telnet"),
    }
)
_SOCKET_METHODS = frozenset({"connect", "connect_ex"})


@dataclass(frozen=True, kw_only=True)
class PythonScan:
    uses: tuple[Use, ...]
    strings: tuple[tuple[int, str], ...]  # (line, text) of each line of each string it holds
    whole_environment: bool  # reads variables by computed names, or hands the environment on


def parse_python(source: bytes, file: str) -> ast.Module | None:
    """The file's syntax tree; None when it is not Python this interpreter reads (bandit says
    so in its own finding), nested too deeply for its parser included."""
    try:
        return ast.parse(source, filename=file)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # CPython's parser gives up on deep nesting with RecursionError or MemoryError ("parser
        # stack overflow"): the skill's author chose the input, so it is an answer, not a crash.
        return None


def scan_python(tree: ast.Module, file: str) -> PythonScan:
    described = _docstrings(tree)
    uses: list[Use] = []
    strings: list[tuple[int, str]] = []
    read: set[int] = set()  # the environ nodes whose use was understood
    dynamic = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in described:
                lines = node.value.split("\n")
                strings += [(node.lineno + offset, text) for offset, text in enumerate(lines)]
                uses += _in_string(node.value, node.lineno, file)
            continue
        line = getattr(node, "lineno", 0)
        name, environ = _env_read(node)
        if environ is not None:
            read.add(id(environ))
            if name is None:
                dynamic = True
            else:
                uses.append(Use(kind=UseKind.ENV, value=name, file=file, line=line))
        host = _connect_host(node)
        if host is not None:
            uses.append(Use(kind=UseKind.HOST, value=host, file=file, line=line))
    whole = dynamic or any(_is_environ(node) and id(node) not in read for node in ast.walk(tree))
    return PythonScan(uses=tuple(uses), strings=tuple(strings), whole_environment=whole)


def _in_string(text: str, first_line: int, file: str) -> list[Use]:
    uses = []
    for offset, line in enumerate(text.split("\n")):
        number = first_line + offset
        uses += [Use(kind=UseKind.HOST, value=h, file=file, line=number) for h in hosts_in(line)]
        paths = paths_in(line)
        paths += [w for w in line.split() if w not in paths and credential_location(w)]
        uses += [Use(kind=UseKind.PATH, value=p, file=file, line=number) for p in paths]
    return uses


def _docstrings(tree: ast.Module) -> set[int]:
    """The string constants that stand alone as statements: docstrings and the like."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


def _is_environ(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr in _ENVIRON and isinstance(node.value, ast.Name) and node.value.id == "os"
    return isinstance(node, ast.Name) and node.id in _ENVIRON


def _env_read(node: ast.AST) -> tuple[str | None, ast.AST | None]:
    """(the variable's name, or None when computed; the environ node) of a read of the
    environment by name; (None, None) for anything else."""
    found = _env_key(node)
    if found is None:
        return None, None
    key, environ = found
    if isinstance(key, ast.Constant) and isinstance(key.value, str | bytes):
        value = key.value
        return (value.decode("utf-8", "replace") if isinstance(value, bytes) else value), environ
    return None, environ


def _env_key(node: ast.AST) -> tuple[ast.AST | None, ast.AST] | None:
    """(the key, the environment) of a read of the environment by name; None otherwise."""
    if isinstance(node, ast.Subscript) and _is_environ(node.value):
        return node.slice, node.value
    if (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and isinstance(node.ops[0], ast.In | ast.NotIn)
        and _is_environ(node.comparators[0])
    ):
        return node.left, node.comparators[0]
    if not isinstance(node, ast.Call):
        return None
    first = node.args[0] if node.args else None
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in _ENV_METHODS and _is_environ(func.value):
        return first, func.value
    if isinstance(func, ast.Attribute) and func.attr in _GETENV and _is_os(func.value):
        return first, func
    if isinstance(func, ast.Name) and func.id in _GETENV:
        return first, func
    return None


def _is_os(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "os"


def _connect_host(node: ast.AST) -> str | None:
    """The host a connecting call names as a literal (``host`` or ``host:port``), or None."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name not in _CONNECTS:
        return None
    first = node.args[0]
    port: object = None
    if isinstance(first, ast.Tuple) and len(first.elts) == 2:
        first, port_node = first.elts
        port = port_node.value if isinstance(port_node, ast.Constant) else None
    elif name in _SOCKET_METHODS:
        return None  # a socket's address is a pair; sqlite3.connect("x.db") names a file
    if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
        return None
    try:
        host = normalize_host(first.value.strip())
    except ValueError:
        return None
    return authority(host, port) if isinstance(port, int) else host
