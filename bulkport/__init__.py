"""bulkport: a store's bulk customer imports and exports, run as background jobs."""

__version__ = "0.1.0"
