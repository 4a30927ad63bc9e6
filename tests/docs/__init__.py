"""The tests that run every code block of README.md, docs/ and the public docstrings."""
