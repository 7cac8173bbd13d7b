"""Build the compiled order book (Cython). Everything else is in pyproject.toml.

The extension is optional: where it cannot be compiled, `market.order_book` serves the
pure-Python reference implementation, which behaves identically (the tests check both).
"""

from setuptools import Extension, setup
from Cython.Build import cythonize

setup(
    ext_modules=cythonize(
        [Extension("market._order_book", ["market/_order_book.pyx"], optional=True)],
        compiler_directives={"language_level": "3"},
        quiet=True,
    )
)
