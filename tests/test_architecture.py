"""The layering of docs/ARCHITECTURE.md, read from the code (AST; nothing is imported or run).

- Views (``buckets/views/``, ``console/views.py``, ``console/*_views.py``) and tasks (``buckets/tasks.py``)
  never call an S3 write function (``buckets.s3.WRITES``), ``audit.change``, ``audit.record`` or
  ``audit.job_writes`` themselves, nor a project function that reaches an S3 write outside an audited
  block; console views do not write the console's records (``save``/``delete``/``create``...) either.
- Every public service function (``console/services.py``, ``buckets/services/``) is keyword-only and
  reaches ``audit.change`` (directly, or through an audited helper such as ``jobs.start``).

- No module of the apps (``console``, ``buckets``, ``catalog``, ``watch``; migrations aside) is longer than
  ``MAX_MODULE_LINES`` lines, and no function of a view module longer than ``MAX_VIEW_LINES``.

The checks run over sources, so the tests at the end feed them small modules that break each rule.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from buckets import s3

ROOT = Path(__file__).resolve().parent.parent
AUDIT = "console.audit"
S3 = "buckets.s3"
AUDIT_OPENERS = {"change", "job_writes"}  # the blocks inside which S3 writes are covered
AUDIT_WRITERS = {"change", "record", "job_writes"}  # what only services (and the audit helpers) call
RECORD_WRITES = {"save", "delete", "create", "update", "get_or_create", "update_or_create", "bulk_create"}
RECORD_WRITES |= {"set_password", "set_unusable_password"}

# Views allowed to call a record write, each with its reason. Keep this short.
LAYER_EXEMPT = {
    # One part of an upload, passed on when the browser cannot reach S3: the upload is audited when it
    # starts (object.upload.start, with its upload id) and when it completes or is aborted; a row per
    # part (up to 10,000 of them) would say nothing more.
    ("buckets.views.upload", "upload_part", ("buckets.services.uploads", "upload_part_send")),
}
RECORD_WRITE_EXEMPT = {
    # The unconfirmed authenticator shown while enrolling: a secret being offered, not yet a second factor;
    # confirming it (the change that matters) is services.otp_device_confirm, audited.
    ("console.otp_views", "otp_setup", "create"),
    # What the directory named at a sign-in, and when: part of that sign-in, which its auth.sso.login event
    # records (with the directory groups), like Django's own last_login; no account or role changes.
    ("console.sso", "find_or_create_user", "update"),
}
# Single sign-on: it changes accounts and memberships only through console.services' audited functions
# (sso_user_create, sso_user_refresh, directory_memberships_apply); it records sign-in events itself.
SIGN_IN_MODULES = ["console.sso", "console.oidc", "console.ldap_auth", "console.auth_events", "console.backends"]


@dataclass
class Callback:
    """A function defined inside another (or a lambda) that is not called there but handed on."""

    node: ast.AST
    calls: list[tuple[tuple[str, str], bool]]
    handed_to: list[tuple[str, str]]  # the calls it is an argument of


@dataclass
class Function:
    module: str
    name: str
    node: ast.AST
    calls: list[tuple[tuple[str, str], bool]] = field(default_factory=list)  # (target, inside an audited block)
    refs: set[tuple[str, str]] = field(default_factory=set)  # functions named without being called here
    callbacks: list[Callback] = field(default_factory=list)


@dataclass
class Module:
    name: str
    tree: ast.Module
    imports: dict[str, str] = field(default_factory=dict)  # local name -> "module" or "module:attr"
    functions: dict[str, Function] = field(default_factory=dict)  # top-level, and methods as "Class.name"


def _package_of(name: str, is_package: bool) -> str:
    return name if is_package else name.rpartition(".")[0]


def _imports(module: Module, sources, packages) -> None:
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                module.imports[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = _package_of(module.name, module.name in packages).split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(filter(None, [*parts, base]))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                # "from buckets import s3" names a module; "from console.audit import change" a function.
                target = full if full in sources or full in packages else f"{base}:{alias.name}"
                module.imports[alias.asname or alias.name] = target


def parse(sources: dict[str, str], packages: frozenset[str] = frozenset()) -> dict[str, Module]:
    """Modules by dotted name, with what their local names refer to and what each function calls."""
    modules = {}
    for name, source in sources.items():
        module = Module(name, ast.parse(source))
        _imports(module, sources, packages)
        for node in module.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                module.functions[node.name] = Function(name, node.name, node)
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        qualified = f"{node.name}.{item.name}"
                        module.functions[qualified] = Function(name, qualified, item)
        modules[name] = module
    for module in modules.values():
        for function in module.functions.values():
            _read_body(module, function)
    return modules


NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _read_body(module: Module, function: Function) -> None:
    """Its calls; a nested function it calls by name counts as its own body, one it hands on is a callback."""
    calls, direct, nested, arguments = [], set(), [], {}
    _walk(module, function.node, False, calls, direct, nested, arguments, function.refs)
    for node in nested:
        inner_calls, inner_direct, inner_nested = [], set(), []
        _walk(module, node, False, inner_calls, inner_direct, inner_nested, {}, function.refs)
        if getattr(node, "name", None) in direct:
            calls.extend(inner_calls)
        else:
            key = node.name if not isinstance(node, ast.Lambda) else id(node)
            function.callbacks.append(Callback(node, inner_calls, arguments.get(key, [])))
    function.calls = calls


def _walk(module, node, audited, calls, direct, nested, arguments, refs) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, NESTED):
            nested.append(child)
            continue
        inside = audited
        if isinstance(child, (ast.With, ast.AsyncWith)) and any(_opens_audit(module, i) for i in child.items):
            inside = True
        if isinstance(child, ast.Call):
            target = _target(module, child.func)
            if target:
                calls.append((target, audited))
            if isinstance(child.func, ast.Name):
                direct.add(child.func.id)
            for arg in [*child.args, *(k.value for k in child.keywords)]:
                key = arg.id if isinstance(arg, ast.Name) else id(arg) if isinstance(arg, ast.Lambda) else None
                if key is not None and target:
                    arguments.setdefault(key, []).append(target)
        elif isinstance(child, (ast.Name, ast.Attribute)) and isinstance(getattr(child, "ctx", None), ast.Load):
            target = _target(module, child)
            if target:
                refs.add(target)
        _walk(module, child, inside, calls, direct, nested, arguments, refs)


def _target(module: Module, func: ast.expr) -> tuple[str, str] | None:
    """What a call refers to, as (module, function), when it is a module's function."""
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        ref = module.imports.get(func.value.id)
        if ref:  # a module ("from buckets import s3"), or a name in one ("from x import Class")
            return ref.replace(":", "."), func.attr
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute):
        inner = _target(module, func.value)  # s3.client.call
        if inner:
            return f"{inner[0]}.{inner[1]}", func.attr
    if isinstance(func, ast.Name):
        if func.id in module.functions:
            return module.name, func.id
        ref = module.imports.get(func.id)
        if ref and ":" in ref:
            base, _, attr = ref.partition(":")
            return base, attr
    return None


def _opens_audit(module: Module, item: ast.withitem) -> bool:
    call = item.context_expr
    return isinstance(call, ast.Call) and _target(module, call.func) in {(AUDIT, n) for n in AUDIT_OPENERS}


def is_s3_write(target: tuple[str, str]) -> bool:
    return target[0].startswith(S3) and target[1] in s3.WRITES


class Graph:
    def __init__(self, modules: dict[str, Module]):
        self.modules = modules
        self._unaudited: dict[tuple[str, str], bool] = {}
        self._audited: dict[tuple[str, str], bool] = {}

    def function(self, target: tuple[str, str]) -> Function | None:
        module = self.modules.get(target[0])
        return module.functions.get(target[1]) if module else None

    def writes_unaudited(self, target: tuple[str, str]) -> bool:
        """Whether calling this can reach an S3 write that no audited block covers."""
        if target in self._unaudited:
            return self._unaudited[target]
        self._unaudited[target] = False  # a cycle adds nothing
        function = self.function(target)
        result = is_s3_write(target) or bool(function and self.calls_write(function.calls))
        self._unaudited[target] = result
        return result

    def calls_write(self, calls) -> bool:
        return any(not inside and self.writes_unaudited(callee) for callee, inside in calls)

    def reaches_audit(self, target: tuple[str, str]) -> bool:
        if target in self._audited:
            return self._audited[target]
        self._audited[target] = False
        function = self.function(target)
        result = target in {(AUDIT, n) for n in AUDIT_OPENERS} or bool(
            function and any(self.reaches_audit(t) for t in [*(c for c, _ in function.calls), *function.refs])
        )
        self._audited[target] = result
        return result


def layer_violations(modules: dict[str, Module], entry_modules: list[str]) -> list[str]:
    """What views and tasks do that only services may do."""
    graph, found = Graph(modules), []
    for name in entry_modules:
        for function in modules[name].functions.values():
            where = f"{name}.{function.name}"
            for target, _ in function.calls:
                if (name, function.name, target) in LAYER_EXEMPT:
                    continue
                if is_s3_write(target):
                    found.append(f"{where} calls the S3 write {target[1]}: call a service")
                elif target[0] == AUDIT and target[1] in AUDIT_WRITERS:
                    found.append(f"{where} calls audit.{target[1]}: call a service")
                elif target[0] != AUDIT and graph.writes_unaudited(target):
                    found.append(f"{where} calls {target[0]}.{target[1]}, which writes to S3 outside audit.change")
            for callback in function.callbacks:
                # A writer handed to a service that runs it inside its audited change (section_change) is fine.
                if graph.calls_write(callback.calls) and not any(graph.reaches_audit(t) for t in callback.handed_to):
                    found.append(f"{where} defines a function that writes to S3 and is not handed to a service")
    return found


def record_write_violations(modules: dict[str, Module], console_views: list[str]) -> list[str]:
    """Console views that write records themselves (``x.save()``, ``Model.objects.create()``...)."""
    found = []
    for name in console_views:
        for function in modules[name].functions.values():
            for node in ast.walk(function.node):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                method, receiver = node.func.attr, ast.unparse(node.func.value)
                if method not in RECORD_WRITES or receiver.startswith(("request.session", "self.request.session")):
                    continue
                if any(k.arg == "commit" and getattr(k.value, "value", True) is False for k in node.keywords):
                    continue  # a ModelForm building the unsaved record a service saves
                if (name, function.name, method) not in RECORD_WRITE_EXEMPT:
                    found.append(f"{name}.{function.name} calls {receiver}.{method}(): call a service")
    return found


def service_violations(modules: dict[str, Module], service_modules: list[str], strict: list[str]) -> list[str]:
    """Public service functions: keyword-only, taking the actor, and audited.

    A service is a public function of a service module that takes the ``actor`` (or only forwards
    ``**kwargs`` to one); the others are helpers (readers, and the writers the section registry runs
    inside its audited change). In the ``strict`` modules, made only of services, every public function is one.
    """
    graph, found = Graph(modules), []
    for name in service_modules:
        for function in modules[name].functions.values():
            node = function.node
            if function.name.startswith("_") or "." in function.name:
                continue
            args = node.args
            names = {a.arg for a in args.args + args.posonlyargs + args.kwonlyargs}
            forwards = bool(args.kwarg) and not names
            if not (name in strict or "actor" in names or forwards):
                continue
            where = f"{name}.{function.name}"
            if args.args or args.posonlyargs or args.vararg:
                found.append(f"{where} takes positional arguments: a service is keyword-only (*, actor, ...)")
            if "actor" not in names and not forwards:
                found.append(f"{where} does not take the actor")
            if not graph.reaches_audit((name, function.name)):
                found.append(f"{where} does not reach audit.change")
    return found


# --- the project -------------------------------------------------------------------------------


def _dotted(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project() -> tuple[dict[str, Module], dict[str, list[str]]]:
    paths = [p for app in ("buckets", "console") for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts]
    packages = frozenset(_dotted(p) for p in paths if p.name == "__init__.py")
    modules = parse({_dotted(p): p.read_text() for p in paths}, packages)
    views = sorted(n for n in modules if n.startswith("buckets.views.") and n != "buckets.views.common")
    console_views = sorted(n for n in modules if n == "console.views" or n.endswith("_views"))
    groups = {
        "views": [*views, "buckets.views.common", *console_views],
        "console_views": console_views,
        "tasks": ["buckets.tasks"],
        "services": ["console.services", *sorted(n for n in modules if n.startswith("buckets.services."))],
    }
    return modules, groups


def test_the_walk_finds_every_layer():
    modules, groups = project()
    assert len(groups["views"]) >= 15 and "console.user_views" in groups["views"]
    assert "buckets.services.objects" in groups["services"] and "console.services" in groups["services"]
    assert len(s3.WRITES) >= 25
    # The walk resolves the names the code uses (a regression here would make every check vacuous).
    calls = {t for f in modules["console.user_views"].functions.values() for t, _ in f.calls}
    assert ("console.services", "user_create") in calls
    assert Graph(modules).writes_unaudited(("buckets.services.objects", "write_metadata"))
    assert Graph(modules).reaches_audit(("buckets.services.emptying", "bucket_empty_start"))


def test_views_and_tasks_leave_writes_and_audit_to_services():
    modules, groups = project()
    assert layer_violations(modules, groups["views"] + groups["tasks"]) == []


def test_console_views_leave_record_writes_to_services():
    modules, groups = project()
    assert record_write_violations(modules, groups["console_views"]) == []


def test_every_public_service_is_keyword_only_and_audited():
    modules, groups = project()
    assert service_violations(modules, groups["services"], strict=["console.services"]) == []


def test_sign_in_leaves_account_changes_to_services():
    modules, _ = project()
    assert record_write_violations(modules, SIGN_IN_MODULES) == []
    changes = [
        f"{name}.{function.name}"
        for name in SIGN_IN_MODULES
        for function in modules[name].functions.values()
        if any(target == (AUDIT, "change") for target, _ in function.calls)
    ]
    assert changes == [], "a change is a service of console.services"
    calls = {t for f in modules["console.sso"].functions.values() for t, _ in f.calls}
    assert {("console.services", "sso_user_create"), ("console.services", "directory_memberships_apply")} <= calls


# --- size ----------------------------------------------------------------------------------------
MAX_MODULE_LINES = 400
MAX_VIEW_LINES = 40  # from the def line to the last line
APPS = ("console", "buckets", "catalog", "watch")


def is_view_module(path: str) -> bool:
    parts = Path(path).parts
    return parts[-1] == "views.py" or "views" in parts[:-1] or parts[-1].endswith("_views.py")


def size_violations(sources: dict[str, str]) -> list[str]:
    """Modules (by path) over MAX_MODULE_LINES lines, and functions of view modules over MAX_VIEW_LINES."""
    found = []
    for path, source in sources.items():
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            found.append(f"{path} has {lines} lines (at most {MAX_MODULE_LINES}): split it by what it holds")
        if not is_view_module(path):
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_VIEW_LINES:
                    found.append(
                        f"{path}:{node.lineno} {node.name} has {length} lines (at most {MAX_VIEW_LINES}): "
                        "move its work into named helpers, forms or services"
                    )
    return found


def app_sources() -> dict[str, str]:
    paths = [p for app in APPS for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts]
    return {str(p.relative_to(ROOT)): p.read_text() for p in sorted(paths)}


def test_no_module_and_no_view_is_too_long():
    sources = app_sources()
    assert {"catalog/views.py", "console/audit_views.py", "buckets/views/browse.py", "watch/views.py"} <= set(sources)
    assert not any("migrations" in path for path in sources)
    assert size_violations(sources) == []


# --- the checks fail when they should ------------------------------------------------------------

FAKE_S3 = "from buckets.s3.objects import put_object\n"
BAD_VIEW = """
from buckets import s3
from buckets.services import helpers
from console import audit
from console.audit import record

def direct(request):
    s3.put_object(endpoint=None, bucket="b", key="k", body=b"")

def audits(request):
    with audit.change(None, "x.y"):
        pass
    record(None, "x.y", outcome="ok")

def through_a_helper(request):
    helpers.write_it()

def through_a_service(request):
    helpers.thing_put(actor=None)

def hands_a_writer_to_a_service(request):
    def apply(before):
        helpers.write_it()
    helpers.thing_with(apply=apply, read=lambda t: None)

def keeps_a_writer(request):
    def apply(before):
        helpers.write_it()
    done = [apply]
    return done

def hands_a_writer_to_nobody(request):
    return sorted([], key=lambda k: s3.delete_objects(endpoint=None, bucket="b", keys=[k]))
"""
HELPERS = """
from buckets import s3
from console import audit

def write_it():
    _inner()

def _inner():
    s3.delete_object(endpoint=None, bucket="b", key="k")

def thing_put(*, actor):
    with audit.change(actor, "thing.put"):
        write_it()

def positional_put(actor, bucket):
    with audit.change(actor, "thing.put"):
        pass

def forgot_put(*, actor, bucket):
    write_it()

def thing_with(*, apply, read):
    with audit.change(None, "thing.put"):
        apply(read(None))
"""


def _fake():
    sources = {
        "buckets.s3": FAKE_S3,
        "buckets.services.helpers": HELPERS,
        "buckets.views.bad": BAD_VIEW,
        "console.audit": "def change(*a, **k): ...\ndef record(*a, **k): ...\n",
    }
    return parse(sources, packages=frozenset({"buckets", "buckets.services", "buckets.views", "buckets.s3"}))


def test_layer_check_catches_direct_and_indirect_writes():
    found = layer_violations(_fake(), ["buckets.views.bad"])
    assert any("direct calls the S3 write put_object" in f for f in found)
    assert any("audits calls audit.change" in f for f in found)
    assert any("audits calls audit.record" in f for f in found)
    assert any("through_a_helper calls buckets.services.helpers.write_it" in f for f in found)
    assert not any("through_a_service" in f for f in found), "a write inside audit.change is covered"
    assert not any("hands_a_writer_to_a_service" in f for f in found)
    assert (
        "buckets.views.bad.keeps_a_writer defines a function that writes to S3 and is not handed to a service" in found
    )
    assert any(f.startswith("buckets.views.bad.hands_a_writer_to_nobody defines") for f in found)


def test_service_check_catches_positional_and_unaudited_services():
    found = service_violations(_fake(), ["buckets.services.helpers"], strict=[])
    assert "buckets.services.helpers.positional_put takes positional arguments" in " ".join(found)
    assert any(f.startswith("buckets.services.helpers.forgot_put does not reach audit.change") for f in found)
    assert not any("thing_put" in f or "write_it" in f for f in found)
    strict = service_violations(_fake(), ["buckets.services.helpers"], strict=["buckets.services.helpers"])
    assert "buckets.services.helpers.write_it does not take the actor" in strict


def test_record_write_check_catches_a_save_in_a_console_view():
    source = "def edit(request, user):\n    user.save()\n    request.session.save()\n"
    modules = parse({"console.x_views": source})
    assert record_write_violations(modules, ["console.x_views"]) == [
        "console.x_views.edit calls user.save(): call a service"
    ]


def test_size_check_catches_a_long_module_and_a_long_view():
    long_function = "def page(request):\n" + "    x = 1\n" * 40 + "\n\ndef short(request):\n    return 1\n"
    sources = {
        "buckets/views/x.py": long_function,
        "console/x_views.py": long_function,
        "watch/views.py": long_function,
        "buckets/helpers.py": long_function,  # not a view module: its functions may be longer
        "buckets/big.py": "X = 1\n" * 401,
        "buckets/fits.py": "X = 1\n" * 400,
    }
    assert size_violations(sources) == [
        *(f"{p}:1 page has 41 lines (at most 40): move its work into named helpers, forms or services"
          for p in ("buckets/views/x.py", "console/x_views.py", "watch/views.py")),
        "buckets/big.py has 401 lines (at most 400): split it by what it holds",
    ]  # fmt: skip
