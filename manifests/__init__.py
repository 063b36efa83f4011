"""Schemas, keys, config, storage layout and stats: the contracts every stage imports (and nothing else)."""
