"""market.messages: the compiled constructors make exactly what the NamedTuples make.

`market/_messages.pyx` gives each message class a compiled entry for calls (its vectorcall
slot) when the install built it. Every call — positional, keywords, too few or too many
arguments — must give the same message (same type, same fields) or the same error as the
class's ordinary call (`type.__call__`), and the class must keep working as a NamedTuple.
"""

from __future__ import annotations

import copy
import inspect
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market import messages
from market.messages import MESSAGE_TYPES, ExecutionReport, NewOrder, OrderType, Side

CLASSES = sorted(MESSAGE_TYPES.values(), key=lambda cls: cls.__name__)


def outcome(call: Any) -> tuple[str, Any]:
    try:
        result = call()
    except Exception as error:  # the error itself is compared: type and text
        return "raised", (type(error), str(error))
    return "made", (type(result), tuple(result))


def test_compiled_constructors_are_built_and_installed() -> None:
    assert messages.COMPILED_CONSTRUCTORS, "market._messages did not compile: no C compiler?"
    from market import _messages  # type: ignore[attr-defined]

    for cls in CLASSES:
        assert _messages.installed(cls), cls
        assert cls.__new__.__qualname__ == f"{cls.__name__}.__new__"  # the NamedTuple's own


def test_signature_of_each_message_class_names_its_fields_and_defaults() -> None:
    for cls in CLASSES:
        parameters = inspect.signature(cls).parameters
        assert list(parameters) == list(cls._fields)  # type: ignore[attr-defined]
        assert {name: p.default for name, p in parameters.items()
                if p.default is not p.empty} == cls._field_defaults  # type: ignore[attr-defined]


values = st.one_of(st.integers(-5, 10**20), st.none(), st.booleans(), st.text(max_size=3),
                   st.sampled_from([Side.BUY, OrderType.MARKET, 1.5, (1, 2)]))


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(st.sampled_from(CLASSES), st.data())
def test_constructor_any_call_matches_the_ordinary_class_call(
    cls: type, data: st.DataObject
) -> None:
    fields: tuple[str, ...] = cls._fields  # type: ignore[attr-defined]
    count = data.draw(st.integers(0, len(fields) + 1), label="positional")
    args = data.draw(st.lists(values, min_size=count, max_size=count), label="args")
    names = data.draw(st.lists(st.sampled_from([*fields, "bogus"]), max_size=3, unique=True),
                      label="keywords")
    kwargs = {name: data.draw(values, label=name) for name in names}
    # type.__call__ is the class call without the compiled entry (tp_call, not vectorcall).
    expected = outcome(lambda: type.__call__(cls, *args, **kwargs))
    assert outcome(lambda: cls(*args, **kwargs)) == expected
    assert outcome(lambda: cls.__new__(cls, *args, **kwargs)) == expected


def test_constructor_defaults_fill_trailing_fields() -> None:
    order = NewOrder(5, "p", 1, Side.BUY, 100, None, OrderType.MARKET)
    assert type(order) is NewOrder
    assert order == (5, "p", 1, Side.BUY, 100, None, OrderType.MARKET, "day", False, 0, None)
    assert order.time_in_force is NewOrder._field_defaults["time_in_force"]
    assert order.peg is None and order.post_only is False


def test_message_class_keeps_namedtuple_behaviour() -> None:
    order = NewOrder(5, "p", 1, Side.BUY, 100, 99)
    assert order._replace(price=98).price == 98
    assert NewOrder._make(tuple(order)) == order
    assert tuple.__new__(NewOrder, tuple(order)) == order
    assert pickle.loads(pickle.dumps(order)) == order
    assert copy.copy(order) == order and copy.deepcopy(order) == order
    assert order._asdict()["quantity"] == 100
    with pytest.raises(AttributeError):
        order.price = 1  # type: ignore[misc]


def test_subclass_of_a_message_is_made_the_ordinary_way() -> None:
    class Tagged(ExecutionReport):
        __slots__ = ()

    fields = [0, "V", "p", 1, "new", Side.BUY, 5, 10, 0, 0, 10, 0, 0, None, 0, None]
    tagged = Tagged(*fields)
    assert type(tagged) is Tagged and tagged == ExecutionReport(*fields)
