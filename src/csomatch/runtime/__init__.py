"""How ``csomatch serve`` runs (docs/operations.md).

Worker processes, the lifespan of each (pools, search index, background loops), health, the
embedded server's watchdog and the HTTP protocol's read deadlines.
"""
