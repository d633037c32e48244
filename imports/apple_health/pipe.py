"""The export's parser in a process of its own, so that an import uses both cores:
the parser reads, inflates and parses the XML (most of an import's Python time) on one,
while the importing process validates and writes, and PostgreSQL merges, on the other.

`python -m imports.apple_health.pipe FILE` parses an export.zip (or export.xml) and
writes to stdout, pickled, one message per batch of parsed records and a last one:
("batch", ParsedBatch, bytes read, records), then ("end", ParseReport) or
("error", exception). It imports no Django: it starts in a fraction of a second, stays
small, and reads nothing but the file it is given.

`parsed_batches(path, report)` runs it and yields its ParsedBatch, keeping `report` up
to date. Closing the generator (or the importing process dying) ends the parser.
"""

import contextlib
import fcntl
import pickle
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

from imports.apple_health.parser import ParsedBatch, ParseReport, export_batches, open_export

ROOT = Path(__file__).resolve().parents[2]
BATCH = 2_000  # records per message: small, for little memory in both processes
PIPE_BYTES = 1 << 20  # room for a batch or so in flight (Linux; best effort)


class ParserStopped(RuntimeError):
    """The parser process ended without saying why (killed, out of memory)."""


def parsed_batches(path, report: ParseReport) -> Iterator[ParsedBatch]:
    # Our own interpreter and module; the path is the caller's, passed as one argument.
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "imports.apple_health.pipe", str(path)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
    )
    try:
        _widen(process.stdout)
        while True:
            try:
                # Pickles written by the child's own code over a private pipe; the
                # export's content is only ever strings and numbers inside them.
                kind, *body = pickle.load(process.stdout)  # noqa: S301
            except EOFError:
                raise ParserStopped(
                    f"the export's parser stopped (exit status {process.wait()})"
                ) from None
            if kind == "batch":
                parsed, report.bytes_read, report.records = body
                yield parsed
            elif kind == "end":
                final = body[0]
                final.skipped.update(report.skipped)  # rows skipped on this side
                for name in (f.name for f in fields(ParseReport)):
                    setattr(report, name, getattr(final, name))
                return
            else:
                raise body[0]
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()


def _widen(pipe) -> None:
    # The default (64 KiB) works too, with more waiting.
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def main(path: str) -> int:
    out = sys.stdout.buffer
    _widen(out)
    report = ParseReport()
    try:
        try:
            stream, archive = open_export(path)
            try:
                for parsed in export_batches(stream, batch=BATCH, report=report):
                    message = ("batch", parsed, report.bytes_read, report.records)
                    pickle.dump(message, out, pickle.HIGHEST_PROTOCOL)
            finally:
                stream.close()
                if archive is not None:
                    archive.close()
            message = ("end", report)
        except Exception as exc:  # told to the importing process, which raises it
            message = ("error", _picklable(exc))
        pickle.dump(message, out, pickle.HIGHEST_PROTOCOL)
        out.flush()
    except BrokenPipeError:  # the importing process stopped reading: nothing to do
        return 1
    return 0


def _picklable(exc: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 (our own object, round-tripped)
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
