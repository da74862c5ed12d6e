"""The HTTP layer: one module per endpoint family, each exporting ``routes``."""
