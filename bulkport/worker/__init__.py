"""The Celery app and its thin task wrappers around ``bulkport.tasks``."""
