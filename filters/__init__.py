"""The filter stage: one module per filter, the Filter interface (base), the Ray Data runner and dedup."""
