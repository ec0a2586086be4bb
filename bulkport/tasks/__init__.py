"""What each job kind does, as plain functions: no Celery, no HTTP."""
