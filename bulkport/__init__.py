"""bulkport: a store's bulk customer-data work (imports, exports, deletions) as background jobs."""

__version__ = "0.1.0"
