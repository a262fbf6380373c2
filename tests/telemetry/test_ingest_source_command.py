import stat

from django.core.management import call_command

from fleet.ingest.keys import hash_key
from fleet.models import IngestSource


def test_creates_then_rotates_and_writes_a_private_key_file(db, tmp_path):
    key_file = tmp_path / "sim.key"
    call_command("ingest_source", "simulator", key_file=str(key_file))
    first = key_file.read_text().strip()
    assert IngestSource.objects.get(name="simulator").key_hash == hash_key(first)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    call_command("ingest_source", "simulator", key_file=str(key_file))
    second = key_file.read_text().strip()
    assert second != first
    assert IngestSource.objects.get(name="simulator").key_hash == hash_key(second)
    assert IngestSource.objects.count() == 1
