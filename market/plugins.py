"""Plug-in loading: a class named by a registry key or by "module:Class".

Scenario files name agents, allocators and other extension points this way. Every failure
raises the caller's error class with a message naming the spec: an unknown key (with a
"did you mean"), a malformed path, a module that fails to import, a missing attribute,
something that is not a subclass of the expected base, an abstract class.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Mapping
from typing import TypeVar

__all__ = ["load_class"]

T = TypeVar("T")


def load_class(spec: str, registry: Mapping[str, type[T]], base: type[T], kind: str,
               error: type[Exception]) -> type[T]:
    """The subclass of `base` that `spec` names: a key of `registry` or "module:Class"."""
    keys = ", ".join(registry)
    if not isinstance(spec, str) or not spec.strip():
        raise error(f"{kind} spec was {spec!r}, expected a key ({keys}) or 'module:Class'")
    if ":" not in spec:
        found = registry.get(spec)
        if found is not None:
            return found
        close = difflib.get_close_matches(spec, list(registry), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        dotted = " (a class path is written 'module:Class')" if "." in spec else ""
        raise error(f"unknown {kind} {spec!r}{dotted}: expected one of {keys} or "
                    f"'module:Class'{hint}")
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute or ":" in attribute:
        raise error(f"{kind} spec {spec!r} is malformed, expected 'module:Class' "
                    "(e.g. 'my_pkg.module:MyClass')")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise error(f"{kind} {spec!r}: cannot import module {module_name!r}: "
                    f"{type(exc).__name__}: {exc}") from exc
    found_object: object = module
    for part in attribute.split("."):
        try:
            found_object = getattr(found_object, part)
        except AttributeError:
            raise error(f"{kind} {spec!r}: module {module_name!r} has no attribute "
                        f"{attribute!r}") from None
    if not (isinstance(found_object, type) and issubclass(found_object, base)):
        what = (f"class {found_object.__module__}.{found_object.__qualname__}"
                if isinstance(found_object, type) else type(found_object).__name__)
        article = "an" if base.__name__[:1].lower() in "aeiou" else "a"
        raise error(f"{kind} {spec!r} is not {article} {base.__name__} subclass (got {what}); it "
                    f"must subclass {base.__module__}.{base.__qualname__}")
    if inspect.isabstract(found_object):
        missing = ", ".join(sorted(getattr(found_object, "__abstractmethods__", ())))
        raise error(f"{kind} {spec!r} is abstract: it does not implement {missing}")
    return found_object
