"""Dangerous patterns: what no skill needs to do, in its code or in the instructions its
SKILL.md gives the model.

The rules are data: a name, a severity, a regular expression over one logical line, and the
message. They are matched against shell scripts' lines, every line of SKILL.md (prose tells a
model what to run as well as a code block does) and the strings Python code holds (a command
for ``os.system`` or ``subprocess``). Python's own ways to hide code (``exec`` of decoded or
downloaded text) are found in its syntax tree. A finding names the rule, never the text: the
line may hold a secret.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

import re2

from runtime.core.vetting import Severity, VetFinding

__all__ = ["RULES", "Rule", "line_findings", "python_findings"]

CHECK = "patterns"


@dataclass(frozen=True, kw_only=True)
class Rule:
    name: str
    severity: Severity
    pattern: str  # RE2 syntax: linear in the line, whatever the skill wrote
    message: str


_SHELLS = r"(sudo\s+(-\S+\s+)*)?((ba|z|da|k|fi)?sh|python[0-9.]*|perl|ruby|node|php|bun|deno)\b"
_FETCH = r"(curl|wget|fetch|aria2c|http|xh)\b"
_ROOT_LIKE = r"(/\*?|~/?\*?|\"?\$\{?HOME\}?/?\*?\"?)"

RULES: tuple[Rule, ...] = (
    Rule(
        name="download-and-execute",
        severity=Severity.CRITICAL,
        pattern=rf"\b{_FETCH}[^;&]*\|\s*{_SHELLS}",
        message="pipes a download into a shell or interpreter (curl ... | sh)",
    ),
    Rule(
        name="download-and-execute",
        severity=Severity.CRITICAL,
        pattern=rf"(\b(ba|z|da|k)?sh|\bsource|(^|\s)\.)\s+(-\S+\s+)*<\(\s*{_FETCH}",
        message="runs a download through process substitution (sh <(curl ...))",
    ),
    Rule(
        name="download-and-execute",
        severity=Severity.CRITICAL,
        pattern=r"\b((ba|z|da|k)?sh|python[0-9.]*|perl|ruby|node)\s+-[ce]\s+[\"']?(\$\(|`)\s*"
        + _FETCH,
        message='runs a download as a program (sh -c "$(curl ...)")',
    ),
    Rule(
        name="eval-fetched",
        severity=Severity.CRITICAL,
        pattern=rf"\beval\b[^;&]*(\$\(|`)\s*{_FETCH}",
        message='evaluates text fetched from the network (eval "$(curl ...)")',
    ),
    Rule(
        name="decoded-execute",
        severity=Severity.CRITICAL,
        pattern=r"\bbase(64|32)\s+(-\S+\s+)*(-d|-D|--decode)\b[^;&]*\|\s*" + _SHELLS,
        message="runs base64-decoded text (hidden code)",
    ),
    Rule(
        name="decoded-execute",
        severity=Severity.CRITICAL,
        pattern=r"\beval\b[^;&]*\bbase(64|32)\s+(-\S+\s+)*(-d|-D|--decode)\b",
        message="evaluates base64-decoded text (hidden code)",
    ),
    Rule(
        name="remove-everything",
        severity=Severity.CRITICAL,
        pattern=r"\brm\s+(-\S+\s+)*(-[A-Za-z]*[rR][A-Za-z]*|--recursive)\s+(-\S+\s+)*"
        + _ROOT_LIKE
        + r"(\s|;|&|\||$)",
        message="removes everything under / or a home directory (rm -rf /)",
    ),
    Rule(
        name="remove-everything",
        severity=Severity.CRITICAL,
        pattern=r"--no-preserve-root\b",
        message="removes files with --no-preserve-root",
    ),
    Rule(
        name="wipe-disk",
        severity=Severity.CRITICAL,
        pattern=r"\bmkfs(\.\w+)?\s|\bdd\b[^;&|]*\bof=/dev/(sd|hd|vd|xvd|nvme|mmcblk)",
        message="writes over a disk (mkfs, dd of=/dev/...)",
    ),
    Rule(
        name="reverse-shell",
        severity=Severity.CRITICAL,
        pattern=r"/dev/(tcp|udp)/|\b(nc|ncat|netcat)\b[^;&|]*\s-[A-Za-z]*[ec]\b|\bsocat\b.*\bexec:",
        message="opens a raw connection that runs commands (a reverse shell)",
    ),
    Rule(
        name="root",
        severity=Severity.HIGH,
        pattern=r"(^|[\s;&|(`]|\$\()(sudo|doas|pkexec)\s|(^|[\s;&|(])su\s+(-\s|-c\b|root\b)",
        message="asks for root (sudo, su, doas, pkexec)",
    ),
    Rule(
        name="setuid",
        severity=Severity.HIGH,
        pattern=r"\bchmod\s+(-\S+\s+)*([ugoa]*\+[rwx]*s|[2467][0-7]{3})\b",
        message="makes a program setuid or setgid (chmod +s)",
    ),
    Rule(
        name="world-writable",
        severity=Severity.MEDIUM,
        pattern=r"\bchmod\s+(-\S+\s+)*(0?777|a\+rwx|o\+w)\b",
        message="makes files writable by everyone (chmod 777)",
    ),
    Rule(
        name="fork-bomb",
        severity=Severity.HIGH,
        pattern=r":\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:",
        message="starts processes without end (a fork bomb)",
    ),
    Rule(
        name="credential-store",
        severity=Severity.HIGH,
        pattern=r"\bsecurity\s+(find-generic-password|find-internet-password|dump-keychain)\b"
        r"|\bsecret-tool\s+lookup\b|--export-secret-keys?\b|\bgh\s+auth\s+token\b"
        r"|\baws\s+configure\s+(get|export-credentials)\b",
        message="reads a credential store (keychain, secret service, gpg, gh, aws)",
    ),
    Rule(
        name="persistence",
        severity=Severity.HIGH,
        pattern=r">>?\s*\S*\.(bashrc|bash_profile|profile|zshrc|zprofile|zshenv)\b"
        r"|\bcrontab\s+((-\S+\s+)*[A-Za-z0-9_./~\"'$]|-(\s|$))|\bsystemctl\s+(--user\s+)?enable\b|\blaunchctl\s+load\b",
        message="makes itself start again later (shell start-up file, crontab, service)",
    ),
    Rule(
        name="send-environment",
        severity=Severity.HIGH,
        pattern=r"\b(printenv|env|set)\s*\|\s*(" + _FETCH + r"|nc\b|ncat\b|netcat\b)",
        message="sends the environment (where secrets are) over the network",
    ),
    Rule(
        name="hide-history",
        severity=Severity.MEDIUM,
        pattern=r"\bhistory\s+-c\b|\bunset\s+HISTFILE\b|HISTFILE=/dev/null",
        message="hides the commands it ran (shell history)",
    ),
    Rule(
        name="insecure-tls",
        severity=Severity.MEDIUM,
        pattern=r"\bcurl\b[^;&|]*\s(-k|--insecure)\b|--no-check-certificate\b",
        message="turns TLS certificate checks off (curl -k, wget --no-check-certificate)",
    ),
)
_COMPILED = tuple((rule, re2.compile(rule.pattern)) for rule in RULES)

# Python's builtins that run text as code, and the calls that decode hidden text or fetch it.
_RUNS = frozenset({"exec", "eval", "compile"})
_DECODES = frozenset(
    {
        *("b64decode", "b32decode", "b16decode", "a85decode", "b85decode", "decodebytes"),
        *("standard_b64decode", "urlsafe_b64decode", "unhexlify", "fromhex", "decompress"),
        *("rot13", "loads"),
    }
)
_FETCHES = frozenset({"urlopen", "urlretrieve", "recv", "recvfrom", "getresponse"})
_HTTP_CLIENTS = frozenset({"requests", "httpx", "urllib3"})  # requests.get(...) and the like
_BUILTINS = frozenset({"builtins", "__builtins__"})
# Modules that call C code or the kernel directly, out of sight of every Python reader.
_NATIVE = frozenset({"ctypes", "_ctypes", "cffi"})


def line_findings(lines: Iterable[tuple[int, str]], file: str) -> list[VetFinding]:
    """Each rule a line breaks, once per line."""
    findings = []
    for number, text in lines:
        seen = set()
        for rule, compiled in _COMPILED:
            if rule.message not in seen and compiled.search(text):
                seen.add(rule.message)
                findings.append(
                    VetFinding(
                        severity=rule.severity,
                        check=CHECK,
                        message=f"{rule.name}: {rule.message}",
                        file=file,
                        line=number,
                    )
                )
    return findings


def python_findings(tree: ast.Module, file: str) -> list[VetFinding]:
    """``exec``/``eval``/``compile`` of decoded or downloaded text, modules or builtins reached
    by a name given as text, and native code (ctypes, cffi)."""
    findings = []
    for node in ast.walk(tree):
        if _imports_native(node):
            findings.append(
                VetFinding(
                    severity=Severity.MEDIUM,
                    check=CHECK,
                    message="native-code: imports ctypes or cffi, which call C code and the "
                    "kernel directly (raw system calls) out of sight of the review",
                    file=file,
                    line=getattr(node, "lineno", None),
                )
            )
        if isinstance(node, ast.Call) and _reaches_by_name(node):
            findings.append(
                VetFinding(
                    severity=Severity.MEDIUM,
                    check=CHECK,
                    message="dynamic-import: reaches a module or builtin by a name given as "
                    "text (__import__, import_module, getattr of builtins), which hides the "
                    "calls it makes from every reader",
                    file=file,
                    line=node.lineno,
                )
            )
        if not (isinstance(node, ast.Call) and _runs_code(node)):
            continue
        inner = [n for arg in node.args for n in ast.walk(arg) if isinstance(n, ast.Call)]
        if any(_name(call) in _DECODES for call in inner):
            name, message = "decoded-execute", "runs decoded text as code (hidden code)"
        elif any(_fetches(call) for call in inner):
            name, message = "eval-fetched", "runs text fetched from the network as code"
        else:
            continue
        findings.append(
            VetFinding(
                severity=Severity.CRITICAL,
                check=CHECK,
                message=f"{name}: {message}",
                file=file,
                line=node.lineno,
            )
        )
    return findings


def _imports_native(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] in _NATIVE for alias in node.names)
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] in _NATIVE and node.level == 0
    return False


def _runs_code(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id in _RUNS
    owner = func.value if isinstance(func, ast.Attribute) else None
    return isinstance(owner, ast.Name) and owner.id == "builtins" and _name(call) in _RUNS


def _reaches_by_name(call: ast.Call) -> bool:
    """``__import__(...)``, ``importlib.import_module(...)``, ``getattr(builtins, ...)``:
    what ``__import__("os").system(...)`` is made of; an ``import`` statement is not."""
    name = _name(call)
    if name == "__import__":
        return True
    func = call.func
    if name == "import_module" and isinstance(func, ast.Attribute):
        return isinstance(func.value, ast.Name) and func.value.id == "importlib"
    if name == "getattr" and isinstance(func, ast.Name) and call.args:
        owner = call.args[0]
        return isinstance(owner, ast.Name) and owner.id in _BUILTINS
    return False


def _fetches(call: ast.Call) -> bool:
    func = call.func
    owner = func.value if isinstance(func, ast.Attribute) else None
    client = isinstance(owner, ast.Name) and owner.id in _HTTP_CLIENTS
    return client or _name(call) in _FETCHES


def _name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""
