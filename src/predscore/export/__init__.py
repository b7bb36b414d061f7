"""Write scores back where reps work (``predscore export``).

Stage: an output edge, beside the pages and the API. Input: a scoring run's folder
(``scores.parquet`` and its manifest) and an export configuration
(:class:`~predscore.config.ExportConfig`, ``configs/export/NAME.yaml``); output:

* **Salesforce**: a Bulk API 2.0 upsert CSV and the job request JSON
  (:func:`write_salesforce`);
* **HubSpot**: an import CSV and its ``importRequest`` JSON (:func:`write_hubspot`);
* **SQL**: an upsert into a scores table and an append to its history, in one
  transaction (:func:`export_sql`).

:func:`export_records` is what every destination writes: one row per scored lead,
the configured fields, the top reasons cut to their fields' length.
:func:`export_scores` is ``predscore export``.
"""

from predscore.export.files import write_hubspot, write_salesforce
from predscore.export.records import export_records, run_id
from predscore.export.run import ExportResult, export_scores
from predscore.export.sql import export_sql, export_tables

__all__ = [
    "ExportResult",
    "export_records",
    "export_scores",
    "export_sql",
    "run_id",
    "export_tables",
    "write_hubspot",
    "write_salesforce",
]
