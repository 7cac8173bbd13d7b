# cython: language_level=3
"""Compiled constructors for the message NamedTuples of `market/messages.py` (optional).

Why. A NamedTuple's `__new__` is generated Python: calling `NewOrder(...)` runs a Python frame
that binds the arguments, builds an argument tuple and hands it to `tuple.__new__`, which
copies it into the new object (measured: ~3,700 instructions for a NewOrder, made and freed).
Here `cls.__new__` is a builtin (vectorcall) function that does the common call — positional
arguments only — in C: it allocates the message and fills it from the arguments and the
field defaults (~1,800). Any other call (keywords, too few or too many arguments, a
subclass) goes to the NamedTuple's own `__new__`, so every result and every error is the one
the pure-Python module gives; the tests check both.

The class stays the NamedTuple it was: same type, fields, `_make`, `_replace`, pickling and
`tuple.__new__(cls, ...)`; only `cls.__new__` is replaced, and `cls.__signature__` keeps
`inspect.signature(cls)` what it was (inspect skips a builtin `__new__`).
"""

from cpython.object cimport PyObject, PyTypeObject

import inspect

cdef extern from "Python.h":
    ctypedef PyObject* (*PyCFunction)(PyObject*, PyObject*)
    ctypedef struct PyMethodDef:
        const char* ml_name
        PyCFunction ml_meth
        int ml_flags
        const char* ml_doc
    int METH_FASTCALL
    int METH_KEYWORDS
    object PyCFunction_NewEx(PyMethodDef* method, object self, object module)
    PyObject* PyObject_Vectorcall(PyObject* callable, PyObject** args, size_t nargs,
                                  PyObject* kwnames)
    void PyObject_GC_Track(PyObject* message)
    PyObject* PyTuple_GET_ITEM(PyObject* items, Py_ssize_t i)
    void PyTuple_SET_ITEM(PyObject* items, Py_ssize_t i, PyObject* value)
    void Py_INCREF(PyObject* value)

cdef extern from *:
    """
    /* A tuple-layout object of `type` with `size` items, not yet tracked by the GC: what
       PyType_GenericAlloc makes, minus zeroing the items (the caller fills them all). */
    static PyObject *sorsim_tuple_alloc(PyTypeObject *type, Py_ssize_t size) {
        return (PyObject *)PyObject_GC_NewVar(PyVarObject, type, size);
    }
    """
    PyObject* _tuple_alloc "sorsim_tuple_alloc"(PyTypeObject* type, Py_ssize_t size)

__all__ = ["Constructor", "install"]


cdef class Constructor:
    """What `cls.__new__` needs to know about one NamedTuple class (its `__self__`)."""

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


cdef PyObject* _new(PyObject* constructor, PyObject** args, Py_ssize_t count,
                    PyObject* keywords) noexcept:
    """`cls.__new__(cls, *fields)` as type.__call__ makes it: args[0] is the class."""
    cdef Constructor self = <Constructor>constructor
    cdef Py_ssize_t given = count - 1
    if (keywords is not NULL or given < self.required or given > self.size
            or args[0] is not <PyObject*>self.cls):
        return PyObject_Vectorcall(<PyObject*>self.python_new, args, count, keywords)
    # What tuple.__new__(cls, values) makes, without the intermediate tuple.
    cdef PyObject* message = _tuple_alloc(<PyTypeObject*>self.cls, self.size)
    if message is NULL:
        return NULL
    cdef Py_ssize_t i
    cdef PyObject* value
    for i in range(given):
        value = args[i + 1]
        Py_INCREF(value)
        PyTuple_SET_ITEM(message, i, value)
    for i in range(given, self.size):
        value = PyTuple_GET_ITEM(<PyObject*>self.defaults, i - self.required)
        Py_INCREF(value)
        PyTuple_SET_ITEM(message, i, value)
    PyObject_GC_Track(message)
    return message


cdef PyMethodDef _NEW
_NEW.ml_name = "__new__"
_NEW.ml_meth = <PyCFunction><void*>_new
_NEW.ml_flags = METH_FASTCALL | METH_KEYWORDS
_NEW.ml_doc = NULL


def install(classes):
    """Give each NamedTuple class in `classes` a compiled constructor (idempotent)."""
    for cls in classes:
        if isinstance(getattr(cls.__dict__["__new__"], "__self__", None), Constructor):
            continue
        signature = inspect.signature(cls)
        cls.__new__ = PyCFunction_NewEx(&_NEW, Constructor(cls), None)
        cls.__signature__ = signature
