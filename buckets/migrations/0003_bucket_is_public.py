from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("buckets", "0002_job"),
    ]

    operations = [
        migrations.AddField(
            model_name="bucket",
            name="is_public",
            field=models.BooleanField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="bucket",
            name="public_checked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
