"""How ``csomatch serve`` runs: worker processes, the lifespan of each (pools, search index,
background loops), health, the embedded server's watchdog and the HTTP protocol's read
deadlines (docs/operations.md)."""
