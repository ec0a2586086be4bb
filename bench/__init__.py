"""bulkport's benchmark harness: ``python -m bench`` measures the performance issue's targets.

Bench-only needs: psutil (in the project's venv) and, for the comparison line,
django-import-export in its own venv ``bench/.venv-dj`` (never a runtime dependency).
"""
