"""The exit statuses of the command line: one table, for the code, the help and the README."""

from __future__ import annotations

#: Nothing failed.
EXIT_OK = 0
#: A file, a job or the command failed (see the message, the summary and the manifest).
EXIT_FAILED = 1
#: A usage error: a flag, a value, a file of ids or a setting is wrong, or the service refused a
#: query as malformed (HTTP 400 or 422 to a GET: a --filter it cannot parse).
EXIT_USAGE = 2
#: ``--max-transfer`` stopped the archive (rclone's status for it); a rerun resumes.
EXIT_MAX_TRANSFER = 8
#: ``--max-duration`` stopped the archive; a rerun resumes.
EXIT_MAX_DURATION = 9
#: Ctrl-C (SIGINT) stopped the command; an archive resumes when run again.
EXIT_INTERRUPTED = 130
#: SIGTERM stopped the command, as Ctrl-C does.
EXIT_TERMINATED = 143

#: The exit status of a run a limit stopped, by the summary's ``stopped``.
EXIT_STOPPED = {"max_transfer": EXIT_MAX_TRANSFER, "max_duration": EXIT_MAX_DURATION}

#: The table as the archive commands' ``--help`` gives it.
ARCHIVE_EXIT_STATUS = (
    f"Exit status: {EXIT_OK} when nothing failed, {EXIT_FAILED} when a file or job failed,"
    f" {EXIT_USAGE} for usage errors, {EXIT_MAX_TRANSFER} when --max-transfer and"
    f" {EXIT_MAX_DURATION} when --max-duration stopped the run, {EXIT_INTERRUPTED} when"
    f" interrupted and {EXIT_TERMINATED} on SIGTERM (run the same command again to resume)."
)
