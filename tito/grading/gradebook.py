"""The gradebook file (modules/gradebook.db): checked before a command opens
it.

A truncated or overwritten gradebook makes SQLite fail deep inside nbgrader
with a traceback that tells an instructor nothing. Checked first, it gets a
message that says what is lost, what is safe, and how to rebuild it: the
submissions and graded notebooks are files of their own, so nothing a student
handed in depends on the gradebook.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path


class DamagedGradebook(
    ValueError
):  # tito prints ValueErrors as a clean message
    pass


def recovery_message(db_path: Path, reason: str) -> str:
    aside = db_path.with_name(db_path.name + ".damaged")
    return (
        f"the gradebook {db_path} is damaged ({reason}). The submissions "
        f"in {db_path.parent / 'submitted'}/ are safe. To recover: move it "
        f"aside (mv {db_path} {aside}), regenerate it with "
        "`tito nbgrader generate --all`, then re-autograde "
        "(`tito nbgrader autograde --all`). Manual grades and comments "
        "were only in the gradebook: restore them from a backup of it."
    )


def check_gradebook(db_path: Path) -> None:
    """Raise DamagedGradebook when `db_path` exists and is not a sound SQLite
    database (a missing gradebook is fine: `generate` and `autograde` create
    it)."""
    db_path = Path(db_path)
    if not db_path.is_file():
        return
    try:
        # read-only: a check must not change the file it checks
        with closing(
            sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        ) as db:
            problems = [row[0] for row in db.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as error:
        raise DamagedGradebook(recovery_message(db_path, str(error))) from None
    if problems != ["ok"]:
        raise DamagedGradebook(recovery_message(db_path, problems[0]))


def alembic_head() -> str:
    """The gradebook schema version nbgrader writes into a new gradebook."""
    import nbgrader
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    scripts = Path(nbgrader.__file__).parent / "alembic"
    config.set_main_option("script_location", str(scripts))
    return ScriptDirectory.from_config(config).get_current_head()


def ask_alembic_in_process() -> None:
    """nbgrader asks the `alembic` command, in a new process, for the schema
    version each time it creates a gradebook (2 s, at every grading task's
    first gradebook): tito asks alembic itself, once."""
    import functools

    import nbgrader.api

    nbgrader.api.get_alembic_version = functools.cache(alembic_head)
