"""SQL that belongs to the warehouse: numbered migrations and named views.

``migrations/NNN_<what>.sql`` are applied in order by ``curate.warehouse``;
``views/<name>.sql`` each hold one ``SELECT`` that becomes view ``<name>`` in
every session. The default local lake (``warehouse/lake/``) lives beside them
and is git-ignored.
"""

from pathlib import Path

HERE = Path(__file__).parent
MIGRATIONS_DIR = HERE / "migrations"
VIEWS_DIR = HERE / "views"
