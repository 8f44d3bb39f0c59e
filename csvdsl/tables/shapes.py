"""The shapes a text value must have to be read as a number or a time, in RE2 syntax: the
reader types columns by them, and `int`, `float`, `date` and `datetime` convert text by them
on both engines (planner/functions.py, planner/sql.py), so a value reads alike everywhere."""

# Surrounding whitespace, which the reader trims and `strip` removes: Python's str.isspace
# characters, the set pyarrow's utf8_trim_whitespace trims.
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())

# Patterns are matched against trimmed, non-missing values.
INT_RE = r"^[+-]?\d+$"
FLOAT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?([iI][nN][fF]|[iI][nN][fF][iI][nN][iI][tT][yY])$"
# A numeric-looking value with a leading zero (zip codes, ids) would lose the zero as a number;
# Arrow's integer cast also reads hexadecimal (0x1F), which is text here.
LEADING_ZERO_RE = r"^[+-]?0[\dxX]"
DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
DATETIME_RE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
# Text that `date` and `datetime` read without a format, once trimmed: DATETIME_RE with every
# field in its range, since DuckDB reads hour 24 and offsets past 23:59 that pandas does not.
TIME_TEXT_RE = (r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
                r"([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?\s?(Z|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)?)?$")
# Before reading: a space before the zone goes (DuckDB rejects it), and digits past the
# microsecond (pandas would read every value of the column in nanoseconds, where 1600 is out of range).
ZONE_SPACE_RE, ZONE_SPACE_REWRITE = r"\s([Z+-])", r"\1"
# Times are kept from year 1 to 9999 (Python's datetime range): an offset can carry 0001-01-01
# into year 0, which no CSV writer in Python could print.
FIRST_TIME, LAST_TIME = "0001-01-01 00:00:00", "9999-12-31 23:59:59.999999"
