"""bulkport's benchmark harness: ``python -m bench`` measures bulkport beside its floors.

Bench-only needs: psutil (in the project's venv) and, for the comparison line,
django-import-export in its own venv ``bench/.venv-dj`` (never a runtime dependency).
"""
