"""The importer: files of demand records in, one all-or-nothing batch in the database out.

``import_file(path, db, crs="wgs84", source=None, echo=None, progress=None)`` reads a CSV
(UTF-8, UTF-8 with BOM, GBK/GB18030, UTF-16), XLSX/XLS, Parquet or GeoJSON file and answers an
``ImportReport``. Modules: ``readers`` (file → text table; workbooks sheet by sheet), ``columns``
(header aliases, from the database's ``header_aliases``), ``parsing`` (text → values), ``masking``
(personal data), ``validate`` (row rules and the stored columns), ``values`` (coded values that
matched nothing), ``reasons`` (reject codes and sentences), ``importer`` (the transaction).
"""

from needsmap.ingest.columns import MissingColumnsError
from needsmap.ingest.importer import ImportReport, import_file
from needsmap.ingest.reasons import REASONS

__all__ = ["REASONS", "ImportReport", "MissingColumnsError", "import_file"]
