# cython: language_level=3
"""Compiled constructors for the message NamedTuples of `market/messages.py` (optional).

Why. A NamedTuple's `__new__` is generated Python: calling `NewOrder(...)` runs a Python frame
that binds the arguments, builds an argument tuple and hands it to `tuple.__new__`, which
copies it into the new object (measured: ~3,700 instructions for a NewOrder, made and freed).
A `Constructor` does the common call — positional arguments only — in C: it allocates the
message and fills it from the arguments and the field defaults (~2,300). Any other call
(keywords, too few or too many arguments) goes to the NamedTuple's own `__new__`, so every
result and every error is the one the pure-Python module gives; the tests check both.

The class stays the NamedTuple it was: same type, fields, `_make`, `_replace`, pickling and
`tuple.__new__(cls, ...)`; only `cls.__new__` is replaced.
"""

from cpython.object cimport PyTypeObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE, PyTuple_SET_ITEM

import inspect

cdef extern from "Python.h":
    void PyObject_GC_Track(object)

cdef extern from *:
    """
    /* A tuple-layout object of `type` with `size` items, not yet tracked by the GC: what
       PyType_GenericAlloc makes, minus zeroing the items (the caller fills them all). */
    static PyObject *sorsim_tuple_alloc(PyTypeObject *type, Py_ssize_t size) {
        return (PyObject *)PyObject_GC_NewVar(PyVarObject, type, size);
    }
    """
    object _tuple_alloc "sorsim_tuple_alloc"(PyTypeObject* type, Py_ssize_t size)

__all__ = ["Constructor", "install"]


cdef class Constructor:
    """`cls.__new__` for one NamedTuple class: `Constructor(cls)(cls, *fields)`."""

    cdef readonly object cls
    cdef readonly object python_new  # the NamedTuple's generated __new__: every other call
    cdef readonly Py_ssize_t size  # number of fields
    cdef Py_ssize_t required  # fields without a default
    cdef tuple defaults  # defaults of the trailing fields, in field order

    def __init__(self, cls):
        fields = cls._fields
        field_defaults = cls._field_defaults
        self.cls = cls
        self.python_new = cls.__new__
        self.defaults = tuple(field_defaults[name] for name in fields if name in field_defaults)
        self.size = len(fields)
        self.required = self.size - len(self.defaults)

    def __call__(self, *args, **kwargs):
        # args = (cls, field values...), as type.__call__ passes them to __new__.
        # A subclass (or anything else) as `cls` takes the NamedTuple's own path too.
        cdef Py_ssize_t given = PyTuple_GET_SIZE(args) - 1
        if (kwargs or given < self.required or given > self.size
                or <object>PyTuple_GET_ITEM(args, 0) is not self.cls):
            return self.python_new(*args, **kwargs)
        # What tuple.__new__(cls, values) makes, without the intermediate tuple.
        cdef object message = _tuple_alloc(<PyTypeObject*>self.cls, self.size)
        cdef Py_ssize_t i
        cdef object value
        for i in range(given):
            value = <object>PyTuple_GET_ITEM(args, i + 1)
            Py_INCREF(value)
            PyTuple_SET_ITEM(message, i, value)
        for i in range(given, self.size):
            value = <object>PyTuple_GET_ITEM(self.defaults, i - self.required)
            Py_INCREF(value)
            PyTuple_SET_ITEM(message, i, value)
        PyObject_GC_Track(message)
        return message

    @property
    def __signature__(self):
        return inspect.signature(self.python_new)

    def __repr__(self):
        return f"<compiled constructor for {self.python_new.__qualname__}>"


def install(classes):
    """Give each NamedTuple class in `classes` a compiled constructor (idempotent)."""
    for cls in classes:
        if not isinstance(cls.__dict__.get("__new__"), Constructor):
            cls.__new__ = Constructor(cls)
