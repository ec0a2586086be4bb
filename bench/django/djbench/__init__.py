"""A minimal Django project for the django-import-export comparison (bench only)."""
