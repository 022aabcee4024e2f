"""Reading every cell of the test database, for the tests that prove no secret is stored."""

from __future__ import annotations

import sqlalchemy as sa


def every_value(engine):
    """Every cell of every table: (table, column, value as text, whether it is a text column)."""
    with engine.connect() as connection:
        for table in sa.inspect(connection).get_table_names():
            reflected = sa.Table(table, sa.MetaData(), autoload_with=connection)
            for row in connection.execute(sa.select(reflected)):
                for column, value in zip(reflected.columns, row):
                    if isinstance(value, (bytes, memoryview)):
                        yield table, column.name, bytes(value).decode("latin-1"), False
                    elif value is not None:
                        yield table, column.name, str(value), isinstance(value, str)
