"""The rule "a state change that writes more than once is one transaction",
read from a domain app's source (tests/test_atomic_writes.py applies it).

The defect it catches: a function that saves, then writes again in a second
commit (the seed's `Report.release()`: the status saved, then the
`ReportRelease` and its job), so a crash or an error in between leaves a
half-made change that nothing ever finishes.

The rule, for every function and method of the app's modules:

- Its *write steps* are counted in order: a call of a writer
  (`WRITER_NAMES`: `.save(`, `.delete(`, `.create(`, `.enqueue(`, ...) is
  one; a call of another function of the app counts what that function
  writes (none, one, or "many" when it writes more than once outside a
  transaction; a `@transaction.atomic` function is one); a
  `with transaction.atomic():` block is one, however much it writes; a
  step inside a loop or comprehension is many; of `if`/`else` branches only
  the one writing most counts (only one runs).
- Two or more steps are refused unless the function is atomic: decorated
  with `transaction.atomic` (bare or called), or every step inside one
  `with transaction.atomic():` block.
- Every public function of an `actions` module (`<app>/actions.py`) must be
  decorated `@transaction.atomic`, however much it writes: that is where
  an app's state changes live.

Not refused:
- a private function (`_name`) all of whose calls in its module are inside
  a transaction (the demo-data command's helpers, called from its atomic
  `handle`);
- a Fusion job (`@job`, `@task`): it is retried until it completes, so its
  steps may commit one by one (the release pipeline's do, so that a retry
  skips what is done); its steps must be idempotent instead;
- migrations, which Django runs in a transaction each.

Limits (it reads names, not types, which is why it is cheap and sees every
path, unlike a runtime check that only sees the paths some test runs):
- A call through a variable, `getattr` or a callable passed as an argument
  is not seen (run_release's `step(...)`, the admin's `change(report)`):
  the function called must then be atomic on its own to be safe.
- Calls are matched to the app's functions by name and shape, not type:
  `name(...)` to its functions, `self.name(...)` to its methods,
  `module.name(...)` to that app module's function, `obj.name(...)` to
  its methods unless `name` is one of QuerySet's or the builtin
  containers' (`Report.objects.get(` is not the app's view `get`). Two
  candidates count as the one that writes most; another library's method
  named like a writer (`cache.delete(`) counts as a write. Both err
  towards refusing. (Run over core, whose caches and batch commands do
  both, it refuses dozens of functions: it is meant for domain apps.)
- Writes inside core count as what they are: one `save()` (its row, its
  activity-log entry and its webhook event, in one transaction) is one step.
- Only `transaction.atomic` / `atomic` is recognised as a transaction, not
  one entered through `ExitStack.enter_context(...)`.
- It cannot tell two independent changes that may commit apart from one
  change in two steps: it refuses both; make the first one function each.
"""

import ast
import functools
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django.db.models import QuerySet

#: Calls that write: the ORM's (BaseModel refuses the bulk ones that skip
#: its hooks, but they still write), Fusion's enqueue, and core's writers.
WRITER_NAMES = frozenset({
    "save", "delete", "create", "get_or_create", "update_or_create",
    "bulk_create", "bulk_update", "save_many", "delete_each",
    "update_without_hooks", "enqueue", "add_activity_log", "emit_webhook",
    "notify_on_slack",
})  # fmt: skip
#: Decorators that make a function a Fusion job (or a plain Django task).
JOB_DECORATORS = frozenset({"job", "task"})
#: "More than once": the count saturates here.
MANY = 2

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_DEFERRED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


@dataclass
class Function:
    """One function or method of an app, as the rule sees it."""

    module: str
    qualname: str
    node: FunctionNode
    atomic: bool
    job: bool
    #: Defined in a class body (called as `obj.name(...)`), not a function
    #: (called as `name(...)` or `module.name(...)`).
    method: bool

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def private(self) -> bool:
        return self.name.startswith("_") and not self.name.endswith("__")

    @property
    def in_actions(self) -> bool:
        return "actions" in self.module.split(".")[1:]

    def __str__(self) -> str:
        return f"{self.module}.{self.qualname} (line {self.node.lineno})"


def _decorator_names(node: FunctionNode) -> set[str]:
    names = set()
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute):
            names.add(target.attr)
        elif isinstance(target, ast.Name):
            names.add(target.id)
    return names


def _called_name(call: ast.Call) -> str | None:
    """`save` for `x.save(...)`, `foo` for `foo(...)`; None otherwise."""
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def _opens_atomic(node: ast.With | ast.AsyncWith) -> bool:
    for item in node.items:
        expr = item.context_expr
        target = expr.func if isinstance(expr, ast.Call) else expr
        if isinstance(target, ast.Attribute | ast.Name) and (
            getattr(target, "attr", None) == "atomic"
            or getattr(target, "id", None) == "atomic"
        ):
            return True
    return False


def _functions(module: str, tree: ast.Module) -> Iterator[Function]:
    """Every function of `tree`, nested ones and methods included."""

    def visit(node: ast.AST, prefix: str, in_class: bool) -> Iterator[Function]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                yield from visit(child, f"{prefix}{child.name}.", True)
            elif isinstance(child, FunctionNode):
                decorators = _decorator_names(child)
                yield Function(
                    module,
                    f"{prefix}{child.name}",
                    child,
                    atomic="atomic" in decorators,
                    job=bool(decorators & JOB_DECORATORS),
                    method=in_class,
                )
                yield from visit(child, f"{prefix}{child.name}.<locals>.", False)
            else:
                yield from visit(child, prefix, in_class)

    return visit(tree, "", False)


@dataclass
class Analysis:
    """The rule applied to one app's modules (`{dotted name: source}`)."""

    sources: Mapping[str, str]
    functions: list[Function] = field(init=False)
    _functions: dict[str, list[Function]] = field(init=False)
    _methods: dict[str, list[Function]] = field(init=False)
    _imported_modules: dict[str, dict[str, str]] = field(init=False)
    _weights: dict[str, int] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        trees = {module: ast.parse(source) for module, source in self.sources.items()}
        self.functions = [
            function
            for module, tree in trees.items()
            for function in _functions(module, tree)
        ]
        self._functions, self._methods = defaultdict(list), defaultdict(list)
        for function in self.functions:
            kind = self._methods if function.method else self._functions
            kind[function.name].append(function)
        self._imported_modules = {
            module: _module_aliases(tree, set(self.sources))
            for module, tree in trees.items()
        }

    # -- which of the app's functions a call may reach -----------------------

    def _resolve(self, call: ast.Call, caller: Function) -> list[Function]:
        """The app's functions `call` may run, judged by its shape:
        `name(...)` a function; `self.name(...)` a method; `module.name(...)`
        a function of that app module; `obj.name(...)` a method, unless
        `name` is one of QuerySet's or the builtin containers' (`.get(`,
        `.filter(`, `.items(`): those are taken for what they usually are."""
        func = call.func
        if isinstance(func, ast.Name):
            found = self._functions.get(func.id, [])
        elif not isinstance(func, ast.Attribute):
            found = []
        elif _is_self(func.value):
            found = self._methods.get(func.attr, [])
        elif isinstance(func.value, ast.Name) and (
            target := self._imported_modules[caller.module].get(func.value.id)
        ):
            found = [
                f for f in self._functions.get(func.attr, []) if f.module == target
            ]
        elif func.attr in _library_names():
            found = []
        else:
            found = self._methods.get(func.attr, [])
        return [f for f in found if not f.private or f.module == caller.module]

    # -- counting ------------------------------------------------------------

    def steps(self, function: Function) -> int:
        """The function's write steps (0, 1 or MANY)."""
        return min(MANY, self._count_all(function.node.body, function))

    def _weight(self, call: ast.Call, caller: Function) -> int:
        """What `call` writes: the most any app function it may reach writes."""
        weights = []
        for candidate in self._resolve(call, caller):
            key = str(candidate)
            if key not in self._weights:
                self._weights[key] = 0  # recursion: counted as none meanwhile
                steps = self.steps(candidate)
                self._weights[key] = min(steps, 1) if candidate.atomic else steps
            weights.append(self._weights[key])
        return max(weights, default=0)

    def _count_all(self, nodes: Iterable[ast.AST], caller: Function) -> int:
        return sum(self._count(node, caller) for node in nodes)

    def _count(self, node: ast.AST, caller: Function) -> int:
        if isinstance(node, _DEFERRED):
            return 0  # runs when called, and is counted there
        if isinstance(node, ast.With | ast.AsyncWith) and _opens_atomic(node):
            return min(1, self._count_all(node.body, caller))
        if isinstance(node, _LOOPS):
            head = node.test if isinstance(node, ast.While) else node.iter
            body = self._count_all(node.body, caller)
            return (
                self._count(head, caller)
                + (MANY if body else 0)
                + self._count_all(node.orelse, caller)
            )
        if isinstance(node, _COMPREHENSIONS):
            inner = self._count_all(ast.iter_child_nodes(node), caller)
            return MANY if inner else 0
        if isinstance(node, ast.If | ast.IfExp):
            branches: list[list[ast.AST]] = (
                [list(node.body), list(node.orelse)]
                if isinstance(node, ast.If)
                else [[node.body], [node.orelse]]
            )
            return self._count(node.test, caller) + max(
                self._count_all(branch, caller) for branch in branches
            )
        own = 0
        if isinstance(node, ast.Call):
            name = _called_name(node)
            own = 1 if name in WRITER_NAMES else self._weight(node, caller)
        return own + self._count_all(ast.iter_child_nodes(node), caller)

    # -- transactions around calls -------------------------------------------

    def _helpers_in_transaction(self) -> set[str]:
        """Private functions whose every call in their module is inside a
        transaction (directly, or through another such helper)."""
        calls: dict[str, list[tuple[Function, bool]]] = defaultdict(list)
        for function in self.functions:
            for call, in_atomic in _calls(function.node):
                for target in self._resolve(call, function):
                    if target.private:
                        calls[str(target)].append((function, in_atomic))
        covered: set[str] = set()
        changed = True
        while changed:
            changed = False
            for helper, sites in calls.items():
                if helper not in covered and all(
                    in_atomic or caller.atomic or str(caller) in covered
                    for caller, in_atomic in sites
                ):
                    covered.add(helper)
                    changed = True
        return covered

    # -- the verdict -----------------------------------------------------------

    def offenders(self) -> list[str]:
        """Each function that breaks the rule, with what to do instead."""
        covered = self._helpers_in_transaction()
        found = []
        for function in self.functions:
            if function.in_actions and not function.private and not function.atomic:
                if "." not in function.qualname:
                    found.append(
                        f"{function}: every action must be decorated "
                        "@transaction.atomic."
                    )
                continue
            if function.atomic or function.job or str(function) in covered:
                continue
            if self.steps(function) >= MANY:
                app = function.module.split(".")[0]
                found.append(
                    f"{function} writes more than once outside one transaction: "
                    f"make it an action in {app}/actions.py decorated "
                    "@transaction.atomic, or put its writes in one "
                    "`with transaction.atomic():` block."
                )
        return found


def _is_self(node: ast.expr) -> bool:
    """`self`, `cls` or `super()`: the call is to a method of this class."""
    if isinstance(node, ast.Name):
        return node.id in ("self", "cls")
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "super"
    )


def _module_aliases(tree: ast.Module, modules: set[str]) -> dict[str, str]:
    """Names bound to modules of the app in `tree`: `{"actions":
    "patients.actions"}` for `from patients import actions`."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules and alias.asname:
                    aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                if dotted in modules:
                    aliases[alias.asname or alias.name] = dotted
    return aliases


@functools.cache
def _library_names() -> frozenset[str]:
    """Methods of Django's QuerySet and of dict, list, set and str that
    do not write: a call `obj.get(...)` is not taken for the app's `get`."""
    names = {
        name
        for kind in (QuerySet, dict, list, set, str)
        for name in dir(kind)
        if not name.startswith("_")
    }
    return frozenset(names - WRITER_NAMES)


def _calls(node: FunctionNode) -> Iterator[tuple[ast.Call, bool]]:
    """The calls in the function's own body, each with whether it is
    inside a `with transaction.atomic()` block."""

    def walk(current: ast.AST, in_atomic: bool) -> Iterator[tuple[ast.Call, bool]]:
        for child in ast.iter_child_nodes(current):
            if isinstance(child, _DEFERRED):
                continue
            inside = in_atomic or (
                isinstance(child, ast.With | ast.AsyncWith) and _opens_atomic(child)
            )
            if isinstance(child, ast.Call):
                yield child, in_atomic
            yield from walk(child, inside)

    return walk(node, False)


def app_sources(package_dir: Path, repo: Path) -> dict[str, str]:
    """`{dotted module name: source}` of an app's modules, migrations left
    out (Django runs each in a transaction)."""
    sources = {}
    for path in sorted(package_dir.rglob("*.py")):
        relative = path.relative_to(repo).with_suffix("")
        if "migrations" in relative.parts:
            continue
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        sources[".".join(parts)] = path.read_text()
    return sources
