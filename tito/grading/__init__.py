"""Grading: the course as an nbgrader course, autograding, the sandbox and the
leak check."""
