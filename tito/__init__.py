"""tito: the TinyTorch course command line (export, test, nbgrader, book,
doctor)."""

import sys

# nbformat imports jsonschema, whose format checkers import rfc3987_syntax
# when it is installed (jupyter-events asks for it), and that builds 35
# Earley parsers: 3.3 s at every start of tito, of a grading worker and of
# a test that imports nbformat. No schema tito validates uses the `iri`
# formats it checks, so tito makes the import fail and jsonschema skips them.
sys.modules.setdefault("rfc3987_syntax", None)
