"""Rows by a fixed WHERE, for the lookups every request makes (its session, its user, its roles, a bucket
page's endpoint): the ORM's own SELECT, converters and models, with only the WHERE's values bound per call.

``Session.objects.get(session_key=…, expire_date__gt=…)`` spends about two thirds of its time outside the
database: building the filter, compiling it, reading the row (0.3 ms of each such lookup on this machine's
PostgreSQL; a user's role assignments, an OR over their groups, about 1 ms). A :class:`RowSelect` compiles
the model's SELECT once per database alias with the ORM and adds a WHERE written once; each call only
prepares its values (as the ORM does: ``get_db_prep_value``), runs the statement and builds the instances
with ``Model.from_db``, applying the converters the ORM would (SQLite's datetimes, a field's
``from_db_value``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connections, models, router

OPERATORS = {"exact": "=", "gt": ">"}  # the lookups a RowLookup writes


def column(model: type[models.Model], name: str, ops) -> str:
    """``"table"."column"`` of ``model``'s field ``name``, quoted for ``ops`` (a connection's operations)."""
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    return f"{ops.quote_name(model._meta.db_table)}.{ops.quote_name(field.column)}"


class RowSelect:
    """``model``'s rows (every column, as the ORM reads them) where ``where(ops)`` holds: a WHERE with one
    ``%s`` for each of ``params``, the fields whose values the calls give, in order. The model's default
    manager must not filter (its SELECT has no WHERE of its own)."""

    def __init__(self, model: type[models.Model], where: Callable[..., str], params: list[models.Field]):
        self.model, self.where, self.params = model, where, params
        self._plans: dict[str, tuple] = {}

    def _plan(self, alias: str) -> tuple:
        """The statement, the fields it reads and their converters, worked out once for ``alias``."""
        connection = connections[alias]
        compiler = self.model._default_manager.using(alias).order_by().query.get_compiler(alias)
        select, params = compiler.as_sql()
        if params or any(word in select for word in (" WHERE ", " ORDER BY ", " LIMIT ", " GROUP BY ")):
            raise ValueError(f"{self.model.__name__}'s default manager filters: a RowSelect cannot stand in for it")
        columns = [expression for expression, _, _ in compiler.select]
        converters = [(index, fns, expression) for index, (fns, expression) in compiler.get_converters(columns).items()]
        plan = (f"{select} WHERE {self.where(connection.ops)}", [c.target.attname for c in columns], converters)
        self._plans[alias] = plan
        return plan

    def rows(self, *values, most: int | None = None) -> list[models.Model]:
        """The matching instances (at most ``most`` read)."""
        alias = router.db_for_read(self.model)
        sql, names, converters = self._plans.get(alias) or self._plan(alias)
        connection = connections[alias]
        params = [
            field.get_db_prep_value(value, connection, prepared=False)
            for field, value in zip(self.params, values, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall() if most is None else cursor.fetchmany(most)
        instances = []
        for read in found:
            row = list(read)
            for index, functions, expression in converters:  # as the ORM's compiler applies them, on this connection
                for convert in functions:
                    row[index] = convert(row[index], expression, connection)
            instances.append(self.model.from_db(alias, names, row))
        return instances


class RowLookup(RowSelect):
    """``model``'s one row where every lookup holds: ``RowLookup(Session, "session_key", "expire_date__gt")``,
    then ``.get(key, now)``: the instance, or None when no row (or, for a lookup that is not unique, more than
    one) matches."""

    def __init__(self, model: type[models.Model], *lookups: str):
        split = [(name, OPERATORS[operator or "exact"]) for name, _, operator in (lu.partition("__") for lu in lookups)]
        fields = [model._meta.pk if name == "pk" else model._meta.get_field(name) for name, _ in split]
        super().__init__(
            model, lambda ops: " AND ".join(f"{column(model, name, ops)} {op} %s" for name, op in split), fields
        )

    def get(self, *values) -> models.Model | None:
        if any(value is None for value in values):
            return None  # the ORM would ask IS NULL, which none of these fields holds
        found = self.rows(*values, most=2)
        return found[0] if len(found) == 1 else None
