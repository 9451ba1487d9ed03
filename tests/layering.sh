#!/bin/sh
# tests/layering.sh - fail when a module includes what tests/layering.txt
# forbids, when a module of the tree is missing from it, when doc/design.md
# no longer shows its rules, or when files of an "acyclic" module call each
# other in a cycle (tests/layering.py does the work).
exec python3 "${srcdir:-.}/tests/layering.py" "${srcdir:-.}" "${builddir:-.}"
