"""tito: the TinyTorch course command line (export, test, nbgrader, book, doctor)."""
