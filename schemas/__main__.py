"""Write the migration files: ``python -m schemas`` regenerates ``warehouse/migrations/NNN_<set>.sql``."""

from schemas import MIGRATION_SETS, migration_sql
from warehouse import MIGRATIONS_DIR

for stem, tables in MIGRATION_SETS.items():
    path = MIGRATIONS_DIR / f"{stem}.sql"
    path.write_text(migration_sql(tables))
    print(f"wrote {path}")
