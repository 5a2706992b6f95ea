"""ClassStat rows now count the keys under every folder (``top`` is the prefix, '' the whole bucket) instead
of under the first path segment only: the old rows mean something else, so they go; until a bucket's next
crawl rebuilds its sums, its analytics page sums the storage classes from the entries."""

from django.db import migrations, models


def drop_old_class_sums(apps, schema_editor):
    apps.get_model("catalog", "ClassStat").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_substring_search")]

    operations = [
        migrations.RunPython(drop_old_class_sums, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="classstat",
            name="top",
            field=models.CharField(help_text="the prefix (a folder with its slash, '' for the bucket)", max_length=1024),
        ),
    ]
