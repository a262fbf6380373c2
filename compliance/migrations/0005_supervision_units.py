from django.db import migrations, models


def address_existing(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Notices raised before units were recorded: an automatic one was for the unit its event
    names; one raised by hand for every unit on the case that was not re-dispatched away."""
    Supervision = apps.get_model("compliance", "Supervision")
    CaseEvent = apps.get_model("compliance", "CaseEvent")
    CaseAssignment = apps.get_model("compliance", "CaseAssignment")
    for supervision in Supervision.objects.all():
        event = CaseEvent.objects.filter(case_id=supervision.case_id, action="supervise",
                                         detail__supervision=supervision.pk).first()
        if event is not None and event.detail.get("auto") and event.district_id:
            units = [event.district_id]
        else:
            units = list(CaseAssignment.objects.filter(case_id=supervision.case_id)
                         .exclude(state="withdrawn").values_list("district_id", flat=True))
        supervision.units.set(units)


class Migration(migrations.Migration):

    dependencies = [
        ("compliance", "0004_bulletins"),
        ("fleet", "0007_coach_lines_vehicle_lines"),
    ]

    operations = [
        migrations.AddField(
            model_name="supervision",
            name="units",
            field=models.ManyToManyField(blank=True, related_name="+", to="fleet.district",
                                         verbose_name="督办对象"),
        ),
        migrations.RunPython(address_existing, migrations.RunPython.noop),
    ]
