"""Django settings for the comparison: one PostgreSQL database named by the environment."""

import os

SECRET_KEY = "bench-only-not-a-secret"
DEBUG = False  # with DEBUG on, Django keeps every query in memory
USE_TZ = True
INSTALLED_APPS = ["import_export", "djbench"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["DJBENCH_DB_NAME"],
        "USER": os.environ.get("DJBENCH_DB_USER", "postgres"),
        "PASSWORD": os.environ.get("DJBENCH_DB_PASSWORD", ""),
        "HOST": os.environ.get("DJBENCH_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("DJBENCH_DB_PORT", "5432"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
