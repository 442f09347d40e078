"""Runs due harvests in the background of the server (`catalogue serve --schedule`): in the
process that starts and watches the server's workers, so one scheduler runs however many
workers answer requests. Servers sharing a PostgreSQL database harvest one at a time: the
scheduler of one of them holds a lock in the database, and the others' take it over when
that server stops."""
from __future__ import annotations

import logging
import threading

from catalogue.settings import Settings
from catalogue.storage.database import open_database

log = logging.getLogger("catalogue.pipeline.schedule")


class Scheduler:
    """Every `check_every` seconds, harvests the sources whose interval has passed.

    The configuration is read again on each check, so a changed interval or a new
    source is picked up without a restart.
    """

    def __init__(self, settings: Settings, check_every: float = 60.0):
        self.settings = settings
        self.check_every = check_every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="harvest-scheduler", daemon=True)

    def start(self) -> "Scheduler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.check_every):
            self.run_due()

    def run_due(self) -> None:
        from catalogue.pipeline.harvest import harvest
        from catalogue.sources import load_config
        try:
            if not open_database(self.settings).lead("scheduler"):
                return  # another server's scheduler harvests
            runs = harvest(self.settings, load_config(self.settings.sources_file), due=True,
                           progress=log.info)
        except Exception:  # the server must outlive a bad configuration or a full disk
            log.exception("scheduled harvest failed")
            return
        for run in runs:
            log.warning("scheduled harvest of %s: %s%s", run.source, run.status,
                        f" ({run.error})" if run.error else "")
