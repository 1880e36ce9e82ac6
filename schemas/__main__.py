"""Print the DDL for every table: ``python -m schemas > warehouse/migrations/001_foundation.sql``."""

from schemas.tables import ALL_TABLES

print("-- Generated from schemas/ by `python -m schemas`. Do not edit by hand.")
for table in ALL_TABLES:
    print(f"\n-- {table.name} v{table.version}: {table.doc}")
    print(table.ddl())
