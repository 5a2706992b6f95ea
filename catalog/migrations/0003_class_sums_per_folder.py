"""ClassStat rows now count the keys under every folder (``top`` is the prefix, '' the whole bucket) instead
of under the first path segment only. The old rows are replaced by the new ones, summed here from each
bucket's entries in one pass (so the changes followed before the next crawl move right totals)."""

from django.db import migrations, models

MAX_DEPTH = 12  # catalog.services.stats.MAX_DEPTH when this was written


def _prefixes(key: str) -> list[str]:
    parts = key.split("/")[:-1][:MAX_DEPTH]
    return [""] + ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def sum_classes_per_folder(apps, schema_editor):
    ClassStat, Entry = apps.get_model("catalog", "ClassStat"), apps.get_model("catalog", "Entry")
    ClassStat.objects.all().delete()
    for indexed in apps.get_model("catalog", "IndexedBucket").objects.filter(stats_generation__gt=0):
        sums: dict[tuple[str, str], list[int]] = {}
        rows = Entry.objects.filter(indexed=indexed).values_list("key", "size", "storage_class")
        for key, size, storage_class in rows.iterator(chunk_size=5000):
            for prefix in _prefixes(key):
                tally = sums.setdefault((prefix, storage_class), [0, 0])
                tally[0] += 1
                tally[1] += size
        ClassStat.objects.bulk_create(
            (ClassStat(indexed=indexed, generation=indexed.stats_generation, top=prefix, storage_class=sc,
                       count=count, bytes=size) for (prefix, sc), (count, size) in sums.items()),
            batch_size=2000,
        )  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_substring_search")]

    operations = [
        migrations.RunPython(sum_classes_per_folder, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="classstat",
            name="top",
            field=models.CharField(help_text="the prefix (a folder with its slash, '' for the bucket)", max_length=1024),
        ),
    ]
