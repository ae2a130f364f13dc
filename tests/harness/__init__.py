"""Test harness shared by the tests and ``scripts/``: a multi-node local Ray, injected failures.

Not part of the product: nothing under ``lensing``, ``spaces``, ``trainables``, ``search`` or
``results`` imports it. Importable as ``tests.harness`` from the repository root (pytest puts it
on ``sys.path``; ``scripts/`` add it themselves).
"""
