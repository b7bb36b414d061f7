"""Files a CRM imports: a Salesforce Bulk API 2.0 upsert, a HubSpot import.

Stage: export (the disk edge). Each writer takes :func:`~.records.export_records`'
rows and writes the data file and the request that goes with it, atomically:

* Salesforce: ``salesforce_upsert.csv`` (UTF-8, a header of field API names, the
  job's delimiter and line ending, fields quoted only when they must be; a missing
  value written as ``null_value``, ``#N/A`` by default, which empties the field: an
  empty cell would leave the old value) and ``salesforce_job.json`` (the body of
  ``POST /services/data/vXX.X/jobs/ingest``: object, upsert, external id field,
  CSV, delimiter, line ending);
* HubSpot: ``hubspot_import.csv`` (UTF-8, a header of property names, dates as
  ``YYYY-MM-DD``) and ``hubspot_import_request.json`` (the ``importRequest`` field of
  ``POST /crm/v3/imports``: the file, its column mappings, the id column).

Nothing here calls the CRM: the data team sends the two files with its own
credentials, or a scheduler does.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from predscore.config.export import ExportConfig, HubSpotExport, SalesforceExport
from predscore.io import atomic_path

__all__ = [
    "HUBSPOT_FILE",
    "HUBSPOT_REQUEST",
    "SALESFORCE_FILE",
    "SALESFORCE_JOB",
    "write_hubspot",
    "write_salesforce",
]

SALESFORCE_FILE = "salesforce_upsert.csv"
SALESFORCE_JOB = "salesforce_job.json"
HUBSPOT_FILE = "hubspot_import.csv"
HUBSPOT_REQUEST = "hubspot_import_request.json"

_DELIMITERS = {
    "COMMA": ",",
    "SEMICOLON": ";",
    "TAB": "\t",
    "PIPE": "|",
    "CARET": "^",
    "BACKQUOTE": "`",
}


def _text(value: object, missing: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return missing
    if isinstance(value, pd.Timestamp):
        return value.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _csv(
    records: pd.DataFrame, delimiter: str, line_ending: str, missing: str
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=delimiter,
        lineterminator=line_ending,
        quoting=csv.QUOTE_MINIMAL,
    )
    writer.writerow(list(records.columns))
    for row in records.itertuples(index=False):
        writer.writerow([_text(v, missing) for v in row])
    return buffer.getvalue().encode("utf-8")


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_salesforce(
    records: pd.DataFrame, config: ExportConfig, out: Path
) -> list[Path]:
    """The upsert CSV and the job request of a Bulk API 2.0 ingest job."""
    job = config.destination()
    assert isinstance(job, SalesforceExport)
    ending = "\r\n" if job.line_ending == "CRLF" else "\n"
    data = _csv(records, _DELIMITERS[job.column_delimiter], ending, job.null_value)
    request = {
        "object": job.object,
        "operation": "upsert",
        "externalIdFieldName": job.external_id_field,
        "contentType": "CSV",
        "columnDelimiter": job.column_delimiter,
        "lineEnding": job.line_ending,
    }
    return [
        _write(out / SALESFORCE_FILE, data),
        _write(out / SALESFORCE_JOB, (json.dumps(request, indent=2) + "\n").encode()),
    ]


def write_hubspot(records: pd.DataFrame, config: ExportConfig, out: Path) -> list[Path]:
    """The import CSV and its ``importRequest`` (column mappings, id column)."""
    settings = config.destination()
    assert isinstance(settings, HubSpotExport)
    dated = records.copy()
    for name in dated.columns:
        first = dated[name].dropna()
        if len(first) and isinstance(first.iloc[0], pd.Timestamp):
            dated[name] = [
                None if pd.isna(v) else v.tz_convert("UTC").strftime("%Y-%m-%d")
                for v in dated[name]
            ]
    data = _csv(dated, ",", "\n", "")
    id_column = config.fields["lead_id"]
    mappings = []
    for name in records.columns:
        mapping = {
            "columnObjectTypeId": settings.object_type_id,
            "columnName": name,
            "propertyName": name,
        }
        if name == id_column:
            mapping["idColumnType"] = settings.id_column_type
        mappings.append(mapping)
    request = {
        "name": settings.import_name,
        "importOperations": {settings.object_type_id: settings.operation},
        "dateFormat": settings.date_format,
        "files": [
            {
                "fileName": HUBSPOT_FILE,
                "fileFormat": "CSV",
                "fileImportPage": {"hasHeader": True, "columnMappings": mappings},
            }
        ],
    }
    return [
        _write(out / HUBSPOT_FILE, data),
        _write(out / HUBSPOT_REQUEST, (json.dumps(request, indent=2) + "\n").encode()),
    ]
