"""The audit log's protection outside the database: its signing key and signed checkpoints.

The chain itself (hashes, signatures, verification) is in ``csomatch.db.audit``; see
docs/audit-and-retention.md for the design and what it detects.
"""
