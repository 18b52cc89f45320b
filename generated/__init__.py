"""Committed generated code, one folder per lecture example; refresh with `python -m deltagen.codegen.refresh`."""
