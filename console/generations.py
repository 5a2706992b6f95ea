"""Generations: one counter per kind of record, raised after every committed change to it.

A page whose output depends only on some records keeps that output (``console.fragments``) under
the counters it read: a change anywhere — this process, another instance, a worker — raises a
counter, so the next read of the page builds it again. A counted model (:class:`Counted`) raises
its counter on every write — its queryset's ``update``, ``delete``, ``bulk_create`` and
``bulk_update``, an instance's ``save`` and ``delete`` — so no call site has to remember.

The database counter is raised *after* the commit (``transaction.on_commit``), in a statement of
its own: a writer's transaction never holds the counter's row, so writers do not queue on it, and a
reader that sees the new value sees the committed change. This process also keeps a local count,
raised at once (before the commit): a page read here in the same request or transaction — a test's,
say, which never commits — does not get output kept from before the change.
"""

from __future__ import annotations

import itertools

from django.db import connection, models, transaction
from django.db.models import F

_numbers = itertools.count(1)  # next() is atomic under the GIL
_local: dict[str, int] = {}  # each kind's last change in this process: a number from _numbers


def changed(*names: str) -> None:
    """Records of these kinds changed (or are about to, in the open transaction)."""
    number = next(_numbers)
    for name in names:
        _local[name] = number
    transaction.on_commit(lambda: _raise(names), robust=True)


def _raise(names: tuple[str, ...]) -> None:
    from console.models import Generation

    counters = Generation.objects.filter(name__in=names)
    if counters.update(value=F("value") + 1) < len(names):  # a kind's first change: make its row, then count
        Generation.objects.bulk_create([Generation(name=n, value=0) for n in names], ignore_conflicts=True)
        counters.update(value=F("value") + 1)


def current(names: tuple[str, ...]) -> tuple:
    """The counters of ``names`` (0 for a kind never changed), each with its local count here: one query
    (none for no names)."""
    from console.models import Generation

    if not names:
        return ()
    table = connection.ops.quote_name(Generation._meta.db_table)
    with connection.cursor() as cursor:  # plain SQL: the ORM's compile is most of a lookup this small
        cursor.execute(f"SELECT name, value FROM {table} WHERE name IN ({', '.join(['%s'] * len(names))})", names)  # noqa: S608 - the table's name, placeholders
        found = dict(cursor.fetchall())
    return tuple((found.get(n, 0), _local.get(n, 0)) for n in names)


class CountedQuerySet(models.QuerySet):
    """A queryset whose writes raise their model's generation (``Model.counted_as``); ``bulk_update`` and
    ``update_or_create`` go through ``update`` and ``save``."""

    def _changed(self) -> None:
        changed(self.model.counted_as)

    def update(self, **kwargs):
        rows = super().update(**kwargs)
        if rows:
            self._changed()
        return rows

    def update_unseen(self, **kwargs):
        """``update`` without raising the generation: for a write no kept page shows but as a time, whose
        "… ago" text kept output lets age by up to ``PAGE_KEEP_SECONDS`` anyway."""
        return super().update(**kwargs)

    def delete(self):
        result = super().delete()
        if result[0]:
            self._changed()
        return result

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            self._changed()
        return created


class Counted(models.Model):
    """A model whose every write raises its generation (``counted_as``): queryset writes, save, delete.

    Rows deleted by a cascade (an endpoint's buckets) raise nothing of their own: the deleted parent's
    generation — which every page kept under the child's also reads — is raised.
    """

    counted_as: str  # the generation's name
    objects = CountedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        changed(self.counted_as)

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        changed(self.counted_as)
        return result
