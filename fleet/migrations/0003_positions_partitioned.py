from django.db import migrations

from fleet.telemetry.schema import CREATE_POSITIONS, DROP_POSITIONS


class Migration(migrations.Migration):
    dependencies = [("fleet", "0002_telemetry_state_events_meter")]

    operations = [migrations.RunSQL(CREATE_POSITIONS, DROP_POSITIONS)]
