"""Tables: CSV files (or in-memory frames) read into typed tables, kept in a catalog."""

from csvdsl.tables.catalog import Catalog, UnknownTableError
from csvdsl.tables.columns import table_from_frame
from csvdsl.tables.info import ColumnInfo, TableInfo, file_sha256, table_info
from csvdsl.tables.read import read_table
from csvdsl.tables.table import NA_VALUES, TYPE_NAMES, Table, table_name_from_path

__all__ = ["TYPE_NAMES", "NA_VALUES", "Table", "Catalog", "UnknownTableError", "read_table", "table_from_frame",
           "table_name_from_path", "ColumnInfo", "TableInfo", "file_sha256", "table_info"]
