# cython: language_level=3
"""Compiled constructors for the message NamedTuples of `market/messages.py` (optional).

Why. Calling a NamedTuple class, `NewOrder(...)`, goes through `type.__call__`: an argument
tuple is built, `__new__` is looked up on the class and called — a Python frame that binds
the arguments and hands a second tuple to `tuple.__new__`, which copies it into the message
(measured: ~3,700 instructions for a NewOrder, made and freed). Here each message class gets
a vectorcall entry (the type's `tp_vectorcall` slot, as C extension types such as multidict
set it): a call with positional arguments only allocates the message and fills it from the
arguments and the field defaults in C (~1,050). Any other call (keywords, too few or too
many arguments) is passed to `type.__call__` unchanged, so every result and every error is
the one the pure-Python module gives; the tests check both.

The class is untouched otherwise: same type, `__new__`, fields, `_make`, `_replace`, pickling
and signature. A subclass of a message class does not inherit the slot: it is called the
ordinary way.
"""

from cpython.object cimport PyObject, PyTypeObject

cdef extern from "Python.h":
    ctypedef PyObject* (*vectorcallfunc)(PyObject* callable, PyObject** args, size_t nargsf,
                                         PyObject* kwnames)
    ctypedef PyObject* (*ternaryfunc)(PyObject* callable, PyObject* args, PyObject* kwargs)
    ctypedef struct TypeCallSlots "PyTypeObject":
        vectorcallfunc tp_vectorcall
        ternaryfunc tp_call
    PyTypeObject PyType_Type
    Py_ssize_t PyVectorcall_NARGS(size_t nargsf)
    void PyObject_GC_Track(PyObject* message)
    PyObject* PyTuple_New(Py_ssize_t size)
    PyObject* PyTuple_GET_ITEM(PyObject* items, Py_ssize_t i)
    void PyTuple_SET_ITEM(PyObject* items, Py_ssize_t i, PyObject* value)
    Py_ssize_t PyTuple_GET_SIZE(PyObject* items)
    PyObject* PyDict_New()
    int PyDict_SetItem(PyObject* mapping, PyObject* key, PyObject* value)
    void Py_INCREF(PyObject* value)
    void Py_DECREF(PyObject* value)
    void Py_XDECREF(PyObject* value)

cdef extern from *:
    """
    /* A tuple-layout object of `type` with `size` items, not yet tracked by the GC: what
       PyType_GenericAlloc makes, minus zeroing the items (the caller fills them all). */
    static PyObject *sorsim_tuple_alloc(PyTypeObject *type, Py_ssize_t size) {
        return (PyObject *)PyObject_GC_NewVar(PyVarObject, type, size);
    }
    """
    PyObject* _tuple_alloc "sorsim_tuple_alloc"(PyTypeObject* type, Py_ssize_t size)

__all__ = ["install", "installed"]


cdef struct Plan:
    PyObject* cls  # the message class (kept alive by _classes)
    Py_ssize_t size  # number of fields
    Py_ssize_t required  # fields without a default
    PyObject* defaults  # tuple: the defaults of the trailing fields (kept alive by _classes)

cdef enum:
    MAX_CLASSES = 64
cdef Plan _plans[MAX_CLASSES]
cdef int _count = 0
cdef list _classes = []  # (class, defaults) of every plan


cdef PyObject* _call(PyObject* cls, PyObject** args, size_t nargsf, PyObject* kwnames) noexcept:
    """`cls(*args)`: the message made in place, or the ordinary call for anything else."""
    cdef Py_ssize_t given = PyVectorcall_NARGS(nargsf)
    cdef Plan* plan = NULL
    cdef int k
    for k in range(_count):
        if _plans[k].cls == cls:
            plan = &_plans[k]
            break
    if plan is NULL or kwnames is not NULL or given < plan.required or given > plan.size:
        return _ordinary_call(cls, args, given, kwnames)
    # What tuple.__new__(cls, values) makes, without the two intermediate tuples.
    cdef PyObject* message = _tuple_alloc(<PyTypeObject*>cls, plan.size)
    if message is NULL:
        return NULL
    cdef Py_ssize_t i
    cdef PyObject* value
    for i in range(given):
        value = args[i]
        Py_INCREF(value)
        PyTuple_SET_ITEM(message, i, value)
    for i in range(given, plan.size):
        value = PyTuple_GET_ITEM(plan.defaults, i - plan.required)
        Py_INCREF(value)
        PyTuple_SET_ITEM(message, i, value)
    PyObject_GC_Track(message)
    return message


cdef PyObject* _ordinary_call(PyObject* cls, PyObject** args, Py_ssize_t given,
                              PyObject* kwnames) noexcept:
    """type.__call__(cls, *args, **keywords): what the class does without this module."""
    cdef Py_ssize_t i, keywords_count = PyTuple_GET_SIZE(kwnames) if kwnames is not NULL else 0
    cdef PyObject* keywords = NULL
    cdef PyObject* result = NULL
    cdef PyObject* positional = PyTuple_New(given)
    if positional is NULL:
        return NULL
    for i in range(given):
        Py_INCREF(args[i])
        PyTuple_SET_ITEM(positional, i, args[i])
    if keywords_count:
        keywords = PyDict_New()
        if keywords is NULL:
            Py_DECREF(positional)
            return NULL
        for i in range(keywords_count):
            if PyDict_SetItem(keywords, PyTuple_GET_ITEM(kwnames, i), args[given + i]) < 0:
                Py_DECREF(positional)
                Py_DECREF(keywords)
                return NULL
    result = (<TypeCallSlots*>&PyType_Type).tp_call(cls, positional, keywords)
    Py_DECREF(positional)
    Py_XDECREF(keywords)
    return result


def install(classes):
    """Give each NamedTuple class in `classes` the compiled constructor (idempotent)."""
    global _count
    for cls in classes:
        if installed(cls):
            continue
        if type(cls) is not type or tuple not in cls.__bases__ or not hasattr(cls, "_fields"):
            raise TypeError(f"{cls!r} is not a NamedTuple class")
        if _count == MAX_CLASSES:
            raise RuntimeError(f"more than {MAX_CLASSES} message classes")
        fields = cls._fields
        defaults = tuple(cls._field_defaults[name] for name in fields
                         if name in cls._field_defaults)
        _classes.append((cls, defaults))
        _plans[_count].cls = <PyObject*>cls
        _plans[_count].size = len(fields)
        _plans[_count].required = len(fields) - len(defaults)
        _plans[_count].defaults = <PyObject*>defaults
        _count += 1
        (<TypeCallSlots*><PyObject*>cls).tp_vectorcall = <vectorcallfunc>_call


def installed(cls):
    """Whether `cls(...)` goes through the compiled constructor."""
    return any(cls is installed_class for installed_class, _ in _classes)
