from django.core.management.base import BaseCommand

from fleet.scheduler import build_scheduler


class Command(BaseCommand):
    help = "Run the periodic jobs (partitions and retention, offline sweep, …) in the foreground."

    def handle(self, *args: object, **options: object) -> None:
        scheduler = build_scheduler()
        for job in scheduler.get_jobs():
            self.stdout.write(f"job {job.id}: {job.trigger}")
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            scheduler.shutdown(wait=False)
