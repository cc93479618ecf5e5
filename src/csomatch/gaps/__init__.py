"""Coverage-gap analysis for funders: demand, capacity and funding per cell (docs/gaps.md)."""
