"""The database layer: every SQL statement of csomatch lives in this package."""
