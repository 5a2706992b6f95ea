"""Audit events become a hash chain (seq, prev_hash, hash) with indexes for the audit page.

Existing events are chained in id order by the backfill.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def chain_existing(apps, schema_editor):
    from console import audit_chain

    AuditEvent = apps.get_model("console", "AuditEvent")
    prev = audit_chain.GENESIS_HASH
    for seq, event in enumerate(AuditEvent.objects.order_by("id").iterator(chunk_size=2000), start=1):
        event.seq, event.prev_hash = seq, prev
        event.hash = audit_chain.compute_hash(event)
        AuditEvent.objects.filter(pk=event.pk).update(seq=seq, prev_hash=prev, hash=event.hash)
        prev = event.hash


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(null=True, help_text="position in the hash chain"),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="endpoint",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="console.endpoint",
            ),
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(help_text="position in the hash chain", unique=True),
        ),
        migrations.RemoveIndex(model_name="auditevent", name="audit_bucket_key"),
        migrations.RemoveIndex(model_name="auditevent", name="audit_outcome_time"),
        migrations.RemoveIndex(model_name="auditevent", name="audit_action_time"),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["created_at", "id"], name="audit_time"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["actor_name", "created_at", "id"], name="audit_actor_time"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["outcome", "created_at", "id"], name="audit_outcome_time"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["bucket", "endpoint", "created_at", "id"], name="audit_scope_time"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                fields=["bucket", "endpoint", "key", "created_at", "id"],
                name="audit_scope_key",
                opclasses=["varchar_ops", "int8_ops", "varchar_pattern_ops", "timestamptz_ops", "int8_ops"],
            ),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                fields=["action", "created_at", "id"],
                name="audit_action_time",
                opclasses=["varchar_pattern_ops", "timestamptz_ops", "int8_ops"],
            ),
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.BigIntegerField(help_text="last archived event's seq", unique=True)),
                ("hash", models.CharField(help_text="last archived event's hash", max_length=64)),
                ("first_seq", models.BigIntegerField()),
                ("event_count", models.BigIntegerField()),
                ("before", models.DateTimeField(help_text="events created before this were archived")),
                ("location", models.CharField(help_text="bucket and key of the JSON Lines file", max_length=1024)),
                (
                    "content_sha256",
                    models.CharField(help_text="sha256 of the archived file as read back", max_length=64),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={"ordering": ["-seq"]},
        ),
    ]
