"""Build the compiled twins (Cython). Everything else is in pyproject.toml.

The extensions are optional: where they cannot be compiled, the pure-Python reference
serves and behaves identically (the tests check both): `market.order_book` (the matching
engine), `market.messages` (message constructors), `market.virtual_loop` (the event heap).
"""

from setuptools import Extension, setup
from Cython.Build import cythonize

setup(
    ext_modules=cythonize(
        [
            Extension("market._order_book", ["market/_order_book.pyx"], optional=True),
            Extension("market._messages", ["market/_messages.pyx"], optional=True),
            Extension("market._virtual_loop", ["market/_virtual_loop.pyx"], optional=True),
        ],
        compiler_directives={"language_level": "3"},
        quiet=True,
    )
)
