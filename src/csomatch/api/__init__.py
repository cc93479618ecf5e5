"""HTTP layer: Litestar routes, schemas, authentication and problem details."""
