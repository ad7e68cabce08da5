"""The Jinja environment article templates run in: sandboxed, with a time and size budget.

Articles arrive as pull requests, so a template (a file whose front matter says
``jinja: true``) is untrusted code. It runs in Jinja's
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` (no attribute starting with
``_``, no mutation of lists or dicts) with these limits on top:

* **Only the documented variables.** No Jinja default globals (``cycler``, ``lipsum``,
  ``namespace``, ...); ``range`` is bounded to :data:`MAX_RANGE` items.
* **Only plain calls.** Besides ``link()`` and ``range()``, a template may call a short
  list of read-only methods of texts and mappings (:data:`ALLOWED_METHODS`); filters
  are an allowlist too (:data:`ALLOWED_FILTERS`), those that can build big texts checked.
* **Size.** ``*``, ``**``, ``+``, ``~`` and ``replace`` refuse results over
  :data:`MAX_VALUE_CHARS` characters (or huge numbers); ``%`` string formatting is not
  available; ``{{ }}`` prints only texts and numbers; the rendered page may not pass
  :data:`MAX_OUTPUT_CHARS`.
* **Time.** :class:`RenderBudget` gives each render at most ``per_render`` seconds and
  a whole build or check at most ``total`` seconds of template time; past it the render
  is interrupted (an exception raised into the rendering thread between two bytecodes)
  and reported at the article's file and line.

Every failure is a :class:`jinja2.TemplateError` subclass, so callers report it as a
template error with its line.
"""

from __future__ import annotations

import ctypes
import operator
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import jinja2
from jinja2.compiler import CodeGenerator
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_RANGE = 10_000
MAX_VALUE_CHARS = 1_000_000
MAX_OUTPUT_CHARS = 2_000_000
MAX_INT_BITS = 4096
PER_RENDER_SECONDS = 2.0
TOTAL_SECONDS = 8.0

ALLOWED_METHODS = frozenset({
    "items", "keys", "values", "get", "lower", "upper", "title", "capitalize", "strip",
    "lstrip", "rstrip", "startswith", "endswith", "split", "count", "index",
})
ALLOWED_FILTERS = frozenset({
    "abs", "attr", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first",
    "float", "groupby", "int", "join", "last", "length", "list", "lower", "map", "max", "min",
    "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr",
    "slice", "batch", "sort", "string", "striptags", "sum", "title", "trim", "truncate",
    "unique", "upper", "urlencode", "wordcount", "items", "tojson",
})


TEMPLATE_FUNCTION = "helpgen_template_function"


def template_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark ``fn`` as callable from templates (helpgen's own context functions)."""
    setattr(fn, TEMPLATE_FUNCTION, True)
    return fn


class BudgetExceeded(SecurityError):
    """A template used more time or memory than its budget allows."""


class TemplateFailure(jinja2.TemplateRuntimeError):
    """A template raised an ordinary Python error (``1 / 0``, a wrong type); ``cause``
    keeps the original, whose traceback holds the template line."""

    def __init__(self, message: str, cause: BaseException) -> None:
        super().__init__(message)
        self.cause = cause


class _Interrupt(BaseException):
    """Raised into a rendering thread when its time is up (never escapes render())."""


def _too_big(value: Any) -> bool:
    if isinstance(value, (str, bytes, list, tuple)):
        return len(value) > MAX_VALUE_CHARS
    if isinstance(value, int) and not isinstance(value, bool):
        return value.bit_length() > MAX_INT_BITS
    return False


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else 0


class _Generator(CodeGenerator):
    """Compiles ``a ~ b`` into a size-checked join."""

    def visit_Concat(self, node: Any, frame: Any) -> None:  # noqa: N802 (Jinja's name)
        self.write("environment.helpgen_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class TemplateSandbox(ImmutableSandboxedEnvironment):
    """The environment of article templates (see the module docstring)."""

    code_generator_class = _Generator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(undefined=jinja2.StrictUndefined, autoescape=False,
                         keep_trailing_newline=True, finalize=_finalize)
        self.globals.clear()
        self.globals["range"] = _bounded_range
        filters = {name: self.filters[name] for name in ALLOWED_FILTERS if name in self.filters}
        filters["replace"] = _checked_replace
        filters["join"] = _checked_join
        filters["string"] = _checked_string
        self.filters = filters
        self.tests = dict(self.tests)

    # -- operators
    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "%":
            if isinstance(left, str):
                raise SecurityError("'%' string formatting is not available in templates; "
                                    "use ~ to join texts")
            return left % right
        if operator_name == "**":
            if isinstance(left, int) and isinstance(right, int) and (
                    abs(right) > 64 or (abs(left) > 1 and right * abs(left).bit_length()
                                        > MAX_INT_BITS)):
                raise BudgetExceeded(f"{left!r} ** {right!r} is too large for a template")
            return left ** right
        if operator_name == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
                    if len(seq) * max(n, 0) > MAX_VALUE_CHARS:
                        raise BudgetExceeded(f"a text or list of {len(seq) * n:,} items is "
                                             f"larger than templates allow "
                                             f"({MAX_VALUE_CHARS:,})")
            if (isinstance(left, int) and isinstance(right, int)
                    and left.bit_length() + right.bit_length() > MAX_INT_BITS):
                raise BudgetExceeded("a number that large is not allowed in templates")
            return left * right
        if operator_name == "+":
            if _size(left) + _size(right) > MAX_VALUE_CHARS:
                raise BudgetExceeded(f"a text or list over {MAX_VALUE_CHARS:,} items is "
                                     "larger than templates allow")
            return operator.add(left, right)
        return super().call_binop(context, operator_name, left, right)

    def helpgen_concat(self, values: tuple) -> str:
        parts = [_checked_string(v) for v in values]
        if sum(len(p) for p in parts) > MAX_VALUE_CHARS:
            raise BudgetExceeded(f"a text over {MAX_VALUE_CHARS:,} characters is larger "
                                 "than templates allow")
        return "".join(parts)

    # -- attributes: an undefined name says so (not "unsafe attribute")
    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, jinja2.Undefined):
            obj._fail_with_undefined_error()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, jinja2.Undefined):
            obj._fail_with_undefined_error()
        return super().getitem(obj, argument)

    # -- calls
    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        fn = __obj
        if getattr(fn, TEMPLATE_FUNCTION, False) is True or isinstance(fn, jinja2.runtime.Macro):
            return __context.call(fn, *args, **kwargs)
        name = getattr(fn, "__name__", "")
        owner = getattr(fn, "__self__", None)
        if (name in ALLOWED_METHODS and isinstance(owner, (str, dict, list, tuple, Mapping))
                and not isinstance(owner, type)):
            return super().call(__context, fn, *args, **kwargs)
        raise SecurityError(f"calling {name or type(fn).__name__!r} is not allowed in "
                            "templates; use the documented variables, link(id) and filters")


@template_function
def _bounded_range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise BudgetExceeded(f"range() of {len(rng):,} items; templates allow {MAX_RANGE:,}")
    return rng


def _finalize(value: Any) -> Any:
    """What ``{{ ... }}`` may print: texts, numbers, booleans and nothing else."""
    if value is None or isinstance(value, (str, int, float, bool)) or \
            isinstance(value, jinja2.Undefined):
        return value
    raise SecurityError(f"cannot print a {type(value).__name__}; print one value, such as "
                        "{{ market.name }}")


def _checked_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    return str(_finalize(value))


def _checked_replace(s: Any, old: Any, new: Any, count: int | None = None) -> str:
    s, old, new = _checked_string(s), _checked_string(old), _checked_string(new)
    hits = s.count(old) if old else len(s) + 1
    if count is not None:
        hits = min(hits, max(count, 0))
    if len(s) + hits * (len(new) - len(old)) > MAX_VALUE_CHARS:
        raise BudgetExceeded("replace() would build a text larger than templates allow")
    return s.replace(old, new) if count is None else s.replace(old, new, count)


def _checked_join(value: Any, d: str = "", attribute: Any = None) -> str:
    total = 0
    parts = []
    for item in value:
        if attribute is not None:
            item = item.get(attribute) if isinstance(item, Mapping) else getattr(item, attribute)
        text = _checked_string(item)
        total += len(text) + len(d)
        if total > MAX_VALUE_CHARS:
            raise BudgetExceeded("join() would build a text larger than templates allow")
        parts.append(text)
    return _checked_string(d).join(parts)


# --------------------------------------------------------------------------- time budget

@dataclass
class RenderBudget:
    """Template time for one build or check: ``per_render`` seconds per render and
    ``total`` seconds in all; files that ran out are remembered so the other markets of
    the same build fail fast."""

    per_render: float = PER_RENDER_SECONDS
    total: float = TOTAL_SECONDS
    used: float = 0.0
    failed: dict[str, str] = field(default_factory=dict)  # source file -> message

    def remaining(self) -> float:
        return max(0.0, self.total - self.used)


def render(template: jinja2.Template, context: Mapping[str, Any], budget: RenderBudget,
           source: str) -> str:
    """Render ``template`` within ``budget``; raises :class:`BudgetExceeded` (a
    TemplateError) when it takes too long or its output is too large."""
    if source in budget.failed:
        raise BudgetExceeded(budget.failed[source])
    seconds = min(budget.per_render, budget.remaining())
    if seconds <= 0:
        raise BudgetExceeded(f"the build's template time ({budget.total:g} s) is used up; "
                             "simplify the templates")
    t0 = time.perf_counter()
    try:
        text = _render_interruptible(template, context, seconds)
    except BudgetExceeded as exc:
        budget.failed[source] = str(exc)
        raise
    except RecursionError:
        budget.failed[source] = "the template recurses too deeply (a macro calling itself?)"
        raise BudgetExceeded(budget.failed[source]) from None
    except jinja2.TemplateError:
        raise
    except Exception as exc:  # a runtime failure of the template itself: report its line
        raise TemplateFailure(f"{type(exc).__name__}: {exc}", exc) from exc
    finally:
        budget.used += time.perf_counter() - t0
    if len(text) > MAX_OUTPUT_CHARS:
        msg = (f"the template renders {len(text):,} characters; templates may produce at "
               f"most {MAX_OUTPUT_CHARS:,}")
        budget.failed[source] = msg
        raise BudgetExceeded(msg)
    return text


def _render_interruptible(template: jinja2.Template, context: Mapping[str, Any],
                          seconds: float) -> str:
    """``template.render(context)``, interrupted after ``seconds`` (from any thread)."""
    tid = threading.get_ident()
    lock = threading.Lock()
    state = {"done": False, "fired": False}
    wake = threading.Event()

    def watchdog() -> None:
        if wake.wait(seconds):
            return
        with lock:
            if not state["done"]:
                state["fired"] = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid),
                                                           ctypes.py_object(_Interrupt))

    timer = threading.Thread(target=watchdog, name="helpgen-template-budget", daemon=True)
    timer.start()
    interrupted = False
    try:
        try:
            return template.render(context)
        except _Interrupt:
            interrupted = True
        finally:
            with lock:
                state["done"] = True
                if state["fired"]:  # clear an exception not yet delivered
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), None)
                    interrupted = True
            wake.set()
            timer.join()
    except _Interrupt:
        interrupted = True
    if interrupted:
        raise BudgetExceeded(f"the template ran longer than {seconds:.1f} s; templates must "
                             "render quickly (no long loops)")
    raise AssertionError("unreachable")  # pragma: no cover
