import uuid

import django.db.models.deletion
from django.db import migrations, models


def give_public_ids(apps, schema_editor):
    # A unique default is computed once per migration: each row gets its own.
    Installation = apps.get_model("delivery_otp_app", "Installation")
    for installation in Installation.objects.filter(public_id__isnull=True):
        installation.public_id = uuid.uuid4()
        installation.save(update_fields=["public_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("delivery_otp_app", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="installation",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(give_public_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="installation",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.CreateModel(
            name="ChannelConfiguration",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("slug", models.CharField(max_length=255)),
                ("currency", models.CharField(max_length=3)),
                ("active", models.BooleanField(default=False)),
                ("items", models.JSONField(default=list)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "installation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="channels",
                        to="delivery_otp_app.installation",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("installation", "slug"),
                        name="delivery_otp_app_one_configuration_per_channel",
                    )
                ],
            },
        ),
    ]
