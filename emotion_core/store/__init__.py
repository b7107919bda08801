"""The DuckDB store: schema and migrations, writes, roster, settings, privacy, read queries. The only SQL."""
