"""Read one CSV file into a typed table.

Every problem with an input file is reported as a :class:`~csvdsl.errors.DataError` with a code, the
file, the 1-based CSV line where one applies, and a hint -- never as a traceback.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from csvdsl.errors import DataError, Span, did_you_mean
from csvdsl.tables.columns import convert_column
from csvdsl.tables.diagnose import diagnose, field_starts, source_line
from csvdsl.tables.memory import RELEASE_FROM, returning_memory
from csvdsl.tables.table import Table, table_name_from_path

DELIMITERS = (",", ";", "\t", "|")
csv.field_size_limit(2**31 - 1)  # the csv module's default (128 KiB) would reject a large field Arrow reads
_SNIFF_CHARS = 64 * 1024
_SNIFF_LINES = 50


def read_table(path: str | os.PathLike, name: str | None = None) -> Table:
    """Read one CSV file into a typed :class:`Table` named ``name`` (default: the file stem)."""
    shown = os.fspath(path)
    size = _size(shown)
    with returning_memory(size) as eager:
        columns, header, encoding, delimiter = _read_direct(shown) or _read_general(shown)
        # A pipe's size is known once it is read: its columns' bytes stand for it.
        read = size or sum(column.get_total_buffer_size() for column in columns)
        converted = _convert_columns(columns, release=eager or read >= RELEASE_FROM)
    schema = {column_name: kind for column_name, (kind, _) in zip(header, converted)}
    # The columns' arrays, not Series: a Series would be aligned on its index, one by one.
    frame = pd.DataFrame({column_name: series.array for column_name, (_, series) in zip(header, converted)}, copy=False)
    return Table(
        name=name if name is not None else table_name_from_path(shown),
        path=shown,
        frame=frame,
        schema=schema,
        encoding=encoding,
        delimiter=delimiter,
    )


def _size(shown: str) -> int:
    """A regular file's size (0 for anything else, or when it cannot be read)."""
    try:
        status = os.stat(shown)
    except OSError:
        return 0
    return status.st_size if stat.S_ISREG(status.st_mode) else 0


def _read_general(shown: str) -> tuple[list[pa.ChunkedArray], list[str], str, str]:
    """Any file: its bytes and text held whole, so every problem is found and reported with its
    line. The columns of strings (header row first), the header, the encoding and the delimiter."""
    raw = _read_bytes(shown)
    text, encoding = _decode(raw, shown)
    if not text or text.isspace():
        raise DataError(
            "csv-empty",
            f"{shown} is empty",
            span=Span(1, 1),
            hint="a CSV file needs at least a header line naming its columns",
            file=shown,
        )
    _reject_binary(text, shown)
    delimiter = _sniff_delimiter(text)
    # Arrow reads UTF-8 only; a UTF-8 file is handed over as it is, without re-encoding.
    data = raw[3:] if encoding == "utf-8-sig" else raw if encoding == "utf-8" else text.encode("utf-8")
    columns = _parse_strings(data, text, delimiter, shown)
    header = _header_names([col[0].as_py() for col in columns], text, delimiter, shown)
    return columns, header, encoding, delimiter  # the file's bytes and text are freed before typing


#: Regular files at least this large are read by Arrow straight from disk (``_read_direct``).
DIRECT_MIN_BYTES = 1 << 20
_HEAD_BYTES = 1 << 20
_SCAN_BYTES = 1 << 20
_QUOTE = ord('"')
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def _read_direct(shown: str) -> tuple[list[pa.ChunkedArray], list[str], str, str] | None:
    """A large regular UTF-8 file read by Arrow from disk, never copied whole into bytes and text
    nor decoded (Arrow checks the UTF-8). None leaves the file to the general path, which reads it
    again and reports any problem precisely: a small file, a byte order mark, another encoding,
    binary bytes, a header that is not plain, or anything Arrow does not read."""
    try:
        status = os.stat(shown)
        if not stat.S_ISREG(status.st_mode) or status.st_size < DIRECT_MIN_BYTES:
            return None
        scan = _scan(shown)
    except OSError:
        return None
    if scan is None:
        return None
    head, quotes, escaped, ascii, identity = scan
    text = None if head.startswith(_BOMS) else _decode_head(head)
    if text is None or not text.strip() or _looks_binary(text) or "\n" not in text:
        return None
    delimiter = _sniff_delimiter(text)
    width = _header_width(text, delimiter)
    try:
        table, escaped = _arrow_read_escaped(shown, delimiter, width, escaped, quotes > 0, utf8=ascii)
        if _identity(os.stat(shown)) != identity:
            return None  # changed since the scan, whose checks the read relied on
    except (pa.ArrowException, OSError):
        return None
    if (not escaped and quotes % 2) or table.num_columns != width:
        return None  # an odd quote may be a quoted field left open, which Arrow silently ends
    columns = list(table.columns)
    del table
    header = _plain_names([column[0].as_py() for column in columns])
    if len(set(header)) != len(header):
        return None
    return columns, header, "utf-8", delimiter


def _scan(shown: str) -> tuple[bytes, int, bool, bool, tuple] | None:
    """The file's first bytes, its number of double quotes, whether its quotes are
    backslash-escaped (as ``_backslash_escaped``), whether it is all ASCII (so UTF-8 that Arrow
    need not check), and its identity (size, modification time, inode) to tell whether it
    changed before Arrow read it; None for a NUL byte (binary). Read in pieces: a memory map
    would die of SIGBUS if the file were cut short meanwhile."""
    quotes, backslash_quote, doubled_quote, last, ascii = 0, False, False, b"", True
    # One buffer read into again and again: a new piece each time would cost fresh pages.
    buffer = bytearray(_SCAN_BYTES)
    with open(shown, "rb") as file:
        identity = _identity(os.fstat(file.fileno()))
        head = piece = file.read(_HEAD_BYTES)
        while piece:
            if b"\x00" in piece:
                return None
            ascii = ascii and piece.isascii()
            # One-byte searches first (memchr): two-byte searches are slow byte loops.
            quoted = b'"' in piece
            quotes += _quotes(piece)
            # The pairs, also split across two pieces.
            backslash_quote = backslash_quote or (quoted and b"\\" in piece and b'\\"' in piece) or last + piece[:1] == b'\\"'
            doubled_quote = doubled_quote or (quoted and b'""' in piece) or last + piece[:1] == b'""'
            last = piece[-1:]  # a copy: the buffer is read into next
            size = file.readinto(buffer)
            piece = buffer if size == len(buffer) else buffer[:size]
    return head, quotes, backslash_quote and not doubled_quote, ascii, identity


def _quotes(data: bytes) -> int:
    """How many double quotes ``data`` holds (numpy: bytes.count of one byte is a slow loop)."""
    return int(np.count_nonzero(np.frombuffer(data, np.uint8) == _QUOTE)) if b'"' in data else 0


def _identity(status: os.stat_result) -> tuple:
    return status.st_size, status.st_mtime_ns, status.st_ino


def _decode_head(head: bytes) -> str | None:
    """The text of a file's first bytes, which may end inside a character; None if not UTF-8."""
    for cut in range(4):
        try:
            return head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError as error:
            if error.start < len(head) - 4:
                return None
    return None


def _convert_columns(columns: list, release: bool = False) -> list:
    """Each column's type and values; ``columns`` is emptied as they are converted, so each
    column of strings is freed once typed (with its header row). Arrow's kernels release the
    GIL, so long columns convert in parallel, in batches (a future per column of a very wide
    table costs more than it saves), the largest first so that none is left to run alone at the
    end.
    Arrow's allocator keeps freed blocks: a read that must ``release`` them (csvdsl/tables/memory.py)
    does after each batch, any other once at the end."""
    if not columns:
        return []
    converted = [None] * len(columns)

    def convert(indices: list[int]) -> None:
        for index in indices:
            column, columns[index] = _one_chunk(columns[index].slice(1)), None  # the blocks go once combined
            converted[index] = convert_column(column)
            del column
        if release:
            pa.default_memory_pool().release_unused()

    # Threads pay off where Arrow's kernels (which release the GIL) do most of the work: on
    # short columns the Python around them does, and threads only contend for the GIL.
    workers = min(len(columns), os.cpu_count() or 1, 8) if len(columns[0]) - 1 > _THREADED_ROWS else 1  # less the header
    size = max(1, len(columns) // (workers * 16))
    largest = sorted(range(len(columns)), key=lambda index: -columns[index].get_total_buffer_size())  # not nbytes: 10x slower
    batches = [largest[start:start + size] for start in range(0, len(columns), size)]
    if workers <= 1:
        for batch in batches:
            convert(batch)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(convert, batches))  # list(): a worker's exception is raised here
    pa.default_memory_pool().release_unused()
    return converted


_THREADED_ROWS = 4096


def _one_chunk(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The column in one chunk (a copy): each check is then one numpy or Arrow call rather than
    one per block Arrow parsed. Not past 2 GiB, where a string array's 32-bit offsets end."""
    if column.num_chunks < 2 or column.nbytes >= 2**31 - 1:
        return column
    return pa.chunked_array([column.combine_chunks()])


MAX_STREAM_BYTES = 4 * 2**30  # read from a pipe at most this much (a device such as /dev/zero never ends)


def _read_bytes(shown: str) -> bytes:
    p = Path(shown)
    try:
        mode = os.stat(shown).st_mode
        if stat.S_ISFIFO(mode):
            return _read_pipe(shown)
        if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
            raise DataError("csv-not-a-file", f"{shown} is not a regular file (a device or socket)", file=shown,
                            hint="pass a CSV file, or a pipe such as <(zcat data.csv.gz)")
        return p.read_bytes()
    except FileNotFoundError:
        raise DataError(
            "csv-not-found",
            f"CSV file {shown} does not exist",
            hint=_missing_file_hint(p),
            file=shown,
        ) from None
    except IsADirectoryError:
        raise DataError(
            "csv-not-a-file",
            f"{shown} is a directory, not a CSV file",
            hint="pass the path of a .csv file inside it",
            file=shown,
        ) from None
    except PermissionError:
        raise DataError(
            "csv-unreadable",
            f"no permission to read {shown}",
            hint="check the file's permissions",
            file=shown,
        ) from None
    except OSError as exc:
        raise DataError(
            "csv-unreadable",
            f"cannot read {shown}: {exc.strerror or exc}",
            hint="check that the path names a readable file",
            file=shown,
        ) from None


def _read_pipe(shown: str) -> bytes:
    """A named pipe, read to its end: opened without waiting (a pipe nobody writes reads as
    empty instead of hanging), at most ``MAX_STREAM_BYTES``."""
    fd = os.open(shown, os.O_RDONLY | os.O_NONBLOCK)
    try:
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_STREAM_BYTES:
                raise DataError("csv-too-large", f"{shown} holds more than {MAX_STREAM_BYTES // 2**30} GiB", file=shown,
                                hint="pass a regular file, or a smaller stream")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _missing_file_hint(p: Path) -> str:
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        return f"the folder {folder} does not exist either; check the path"
    try:
        siblings = sorted(f for f in folder.iterdir() if f.suffix.lower() in {".csv", ".tsv", ".txt"})
    except OSError:
        siblings = []
    # Compare stems: every candidate shares the ".csv", which would make anything look close.
    by_stem = {f.stem: f for f in siblings}
    best = did_you_mean(p.stem, by_stem)
    if best is not None:
        return f"did you mean {folder / by_stem[best].name}?"
    return "check the path; it is relative to the current directory unless absolute"


def _decode(raw: bytes, shown: str) -> tuple[str, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        # A UTF-16 BOM is unambiguous; without one the NUL bytes are reported as binary below.
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise DataError(
                "csv-encoding",
                f"{shown} starts with a UTF-16 byte order mark but is not valid UTF-16",
                hint="save the file as UTF-8",
                file=shown,
            ) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    else:
        try:
            return raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as error:
            _reject_mixed(raw, error, shown)
    # Not UTF-8: most such files come from Windows tools; latin-1 accepts any byte, so it is last.
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def _reject_mixed(raw: bytes, error: UnicodeDecodeError, shown: str) -> None:
    """A file that is partly UTF-8 would load as mojibake (`JosÃ©`) if decoded as cp1252: refuse it."""
    if not _UTF8_MULTIBYTE.search(raw):
        return  # no UTF-8 sequence at all: a single-byte encoding, read as such below
    line = raw.count(b"\n", 0, error.start) + 1
    raise DataError("csv-encoding", f"{shown} is partly UTF-8 and partly another encoding: line {line} has the byte "
                    f"0x{raw[error.start]:02x}, which is not UTF-8", span=Span(line, 1), file=shown,
                    hint="convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8 on the lines that are not)")


def _looks_binary(head: str) -> bool:
    """Many control characters near the start (a NUL anywhere is checked apart)."""
    sample = head[:8192]
    return sum(1 for ch in sample if ch < " " and ch not in "\t\n\r\f\v") > len(sample) // 20


def _reject_binary(text: str, shown: str) -> None:
    if "\x00" not in text and not _looks_binary(text):
        return
    if text.startswith(("\x1f\x8b", "\x1f\u2039")):
        hint = "it looks gzip-compressed; decompress it first"
    elif text.startswith("PK\x03\x04"):
        hint = "it looks like a zip archive (or an Excel .xlsx file); export it as CSV"
    else:
        hint = (
            "the file contains binary data (NUL or control bytes); pass a text CSV file"
            " (UTF-16 needs a byte order mark)"
        )
    raise DataError("csv-binary", f"{shown} is not a text CSV file", span=Span(1, 1), hint=hint, file=shown)


# --------------------------------------------------------------------------- delimiter sniffing


def _sniff_delimiter(text: str) -> str:
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        # Drop the cut-off last line so it does not look ragged.
        sample = sample[: sample.rindex("\n") + 1]
    lines = sample.splitlines(keepends=True)[:_SNIFF_LINES]
    sample = "".join(lines)
    scores = {delimiter: _consistency(sample, delimiter) for delimiter in DELIMITERS}
    even = [delimiter for delimiter, (agree, width) in scores.items() if agree == 1.0 and width > 1]
    # Only where two delimiters split the sample evenly does csv.Sniffer choose (its guess is taken
    # when it splits evenly, and with one such delimiter the scores below pick it as well). It
    # is slow: about 0.7 ms, most of the time to read a small file.
    if len(even) > 1:
        try:
            sniffed = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
        except csv.Error:
            sniffed = None
        if sniffed in even:
            return sniffed
    # Else the delimiter whose rows most often have as many fields as the header (ties: more fields).
    best, best_score = ",", (0.0, 1)
    for delimiter in DELIMITERS:
        score = scores[delimiter]
        if score[1] > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def _consistency(sample: str, delimiter: str) -> tuple[float, int]:
    """(share of sample rows with as many fields as the header, header width)."""
    try:
        rows = [row for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter) if row]
    except csv.Error:
        return 0.0, 0
    if not rows:
        return 0.0, 0
    width = len(rows[0])
    if len(rows) == 1:
        return 1.0, width
    body = rows[1:]
    return sum(len(row) == width for row in body) / len(body), width


# --------------------------------------------------------------------------- parsing


def _parse_strings(data: bytes, text: str, delimiter: str, shown: str) -> list[pa.ChunkedArray]:
    """Every field as a string, header row included, one array per column (arrow's CSV reader is
    multithreaded and, unlike pandas, rejects short rows as well as long ones)."""
    width = _header_width(text, delimiter)
    if not data.endswith((b"\n", b"\r")):
        # Arrow cannot read a first row that has no line end ("Empty CSV file or block").
        data += b"\n"
    escaped = _backslash_escaped(data)
    try:
        # The data is UTF-8: decoded whole, or encoded from the text.
        table, escaped = _arrow_read_escaped(data, delimiter, width, escaped, b'"' in data, utf8=True)
    except pa.ArrowException as exc:
        diagnose(text, delimiter, shown)
        raise DataError(
            "csv-malformed",
            f"{shown} is not a well-formed CSV file: {exc}",
            hint="check the quoting and that every row has as many fields as the header",
            file=shown,
        ) from None
    if not escaped and _quotes(data) % 2:
        # Arrow silently ends a quoted field left open at the end of the file; an odd number of
        # quotes is the cheap sign of that (or of a harmless stray quote, which passes).
        diagnose(text, delimiter, shown)
    if table.num_columns != width:
        diagnose(text, delimiter, shown)
        raise DataError(
            "csv-malformed",
            f"{shown} is not a well-formed CSV file: its header could not be read",
            span=Span(1, 1),
            hint="check the quoting of the header line",
            file=shown,
        )
    return list(table.columns)


def _backslash_escaped(data: bytes) -> bool:
    """Quotes escaped with a backslash (`"say \\"hi\\""`, as some exporters write) rather than
    doubled (RFC 4180): read so when the file has such a quote and never doubles one."""
    # A one-byte search first (memchr): most files have no backslash at all.
    return b"\\" in data and b'\\"' in data and b'""' not in data


_MAX_BLOCK = 2**31 - 1  # Arrow's block size is a 32-bit integer


def _arrow_read_escaped(source: bytes | str, delimiter: str, width: int, escaped: bool, quoted: bool,
                        utf8: bool = False):
    """``_arrow_read``, and whether the backslashes were read as escapes: when reading them so
    fails, they were not escapes, and the file is read again without."""
    try:
        return _arrow_read(source, delimiter, width, escaped, quoted, utf8), escaped
    except pa.ArrowException:
        if not escaped:
            raise
        return _arrow_read(source, delimiter, width, False, quoted, utf8), False


def _arrow_copy(data: bytes) -> pa.Buffer:
    """``data`` copied into memory Arrow owns. Arrow's reader hands blocks to its own threads,
    which may drop the last reference to the source after ``read_csv`` has returned -- even
    while the interpreter exits. A Python source (a file object, or a buffer viewing a bytes
    object) must then take the GIL in that thread, which a finalizing interpreter answers by
    ending the thread: C++ aborts the process ("terminate called without an active exception").
    An Arrow buffer is freed without Python."""
    buffer = pa.allocate_buffer(len(data))
    memoryview(buffer).cast("B")[:] = data
    return buffer


def _arrow_read(source: bytes | str, delimiter: str, width: int, escaped: bool, quoted: bool = True,
                utf8: bool = False) -> pa.Table:
    """Arrow's read of every field as a string, from bytes or a file's path; Arrow checks the
    UTF-8 unless the source is ``utf8`` already. A field or a header longer than a block is read
    again with blocks large enough to hold it."""
    size = len(source) if isinstance(source, bytes) else os.stat(source).st_size
    owned = _arrow_copy(source) if isinstance(source, bytes) else None
    block = 1 << 20  # Arrow's default: blocks are parsed in parallel, and larger ones measured slower
    while True:
        try:
            # OSFile: a file's path would be decompressed by its suffix.
            with pa.BufferReader(owned) if owned is not None else pa.OSFile(source) as stream:
                return pacsv.read_csv(stream, *_arrow_options(delimiter, width, escaped, quoted, block, utf8))
        except pa.ArrowInvalid as exc:
            # A long field "straddles two block boundaries"; a long header leaves its block "empty".
            if not ("straddl" in str(exc) or "Empty CSV file or block" in str(exc)) or block >= min(size + 1, _MAX_BLOCK):
                raise
            block = min(block * 16, size + 1, _MAX_BLOCK)


def _arrow_options(delimiter: str, width: int, escaped: bool, quoted: bool, block: int, utf8: bool = False) -> tuple:
    """Arrow's read, parse and convert options to read every field as the text it was. A file
    without a quote cannot have a line end inside a field, which spares Arrow tracking quotes
    to split blocks; a source known to be UTF-8 spares it the check (a sixth of its read)."""
    return (
        pacsv.ReadOptions(autogenerate_column_names=True, block_size=block),
        pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=quoted, escape_char="\\" if escaped else False),
        pacsv.ConvertOptions(
            column_types={f"f{i}": pa.string() for i in range(width)},
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            auto_dict_encode=False,
            check_utf8=not utf8,
        ),
    )


def _header_width(text: str, delimiter: str) -> int:
    # The header is near the start; a prefix spares copying a large file into a StringIO (a
    # header longer than the prefix is read to its first line end).
    prefix = text[:1 << 20]
    if "\n" not in prefix:
        end = text.find("\n")
        prefix = text if end < 0 else text[:end + 1]
    reader = csv.reader(io.StringIO(prefix, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            if row:
                return len(row)
    except csv.Error:
        pass
    return 1


def _plain_names(raw: list[str]) -> list[str]:
    """Header fields as column names: trimmed, and a blank one named by its position."""
    return [value.strip() or f"column_{position}" for position, value in enumerate(raw, start=1)]


def _header_names(raw: list[str], text: str, delimiter: str, shown: str) -> list[str]:
    names = _plain_names(raw)
    seen: dict[str, int] = {}
    for position, value in enumerate(names):
        if value in seen:
            # Blank lines before the header are skipped when reading, but they still count here.
            line = text[: len(text) - len(text.lstrip("\r\n"))].count("\n") + 1
            header = source_line(text, line)
            starts = field_starts(header.rsplit("\n", 1)[-1], delimiter)
            column = starts[position] if position < len(starts) else 1
            raise DataError(
                "csv-duplicate-column",
                f"column `{value}` appears twice in the header of {shown}"
                f" (fields {seen[value] + 1} and {position + 1})",
                span=Span(line, column),
                hint="rename one of them so every column name is unique",
                file=shown,
                source=header,
            )
        seen[value] = position
    return names


# --------------------------------------------------------------------------- type inference

