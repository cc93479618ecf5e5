"""How ``csomatch serve`` runs: worker processes, health, the embedded server's watchdog and
the HTTP protocol's read deadlines (docs/operations.md)."""
