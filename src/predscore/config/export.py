"""Score write-back configuration (``configs/export/NAME.yaml``, ``predscore export``).

One file per destination: which predscore columns go to which CRM fields, how many
reasons and how long their texts may be, and the destination's own settings
(Salesforce Bulk API 2.0 job, HubSpot import, or the SQL tables). Credentials are
never here: the SQL destination reads its URL from an environment variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from predscore.config._base import _Section
from predscore.config.loader import read_yaml
from predscore.errors import ConfigError

__all__ = [
    "EXPORT_COLUMNS",
    "ExportConfig",
    "HubSpotExport",
    "ReasonsExport",
    "SalesforceExport",
    "SqlExport",
    "load_export_config",
]

#: The columns of a scoring run a destination may receive (``fields`` keys).
EXPORT_COLUMNS = (
    "lead_id",
    "score",
    "probability",
    "tier",
    "route",
    "rank",
    "delta",
    "model_version",
    "model_segment",
    "scored_at",
    "run_id",
)


class ReasonsExport(_Section):
    """The top reasons, one text field each (sentences as reps read them)."""

    fields: list[str] = Field(
        [],
        description="CRM fields of the 1st, 2nd, … reason; their number is the count",
    )
    max_chars: int = Field(
        255, ge=8, description="longest text a field takes (longer: cut, with …)"
    )


class SalesforceExport(_Section):
    """A Bulk API 2.0 ingest job (upsert on an external id field)."""

    object: str = Field("Lead", description="the sObject's API name")
    external_id_field: str = Field(
        description="API name of the external id field the upsert matches on"
    )
    line_ending: Literal["LF", "CRLF"] = "LF"
    column_delimiter: Literal[
        "COMMA", "SEMICOLON", "TAB", "PIPE", "CARET", "BACKQUOTE"
    ] = "COMMA"
    null_value: str = Field(
        "#N/A",
        description="the text that empties a field (an empty cell leaves it as is)",
    )


class HubSpotExport(_Section):
    """A CRM import (POST /crm/v3/imports): the file and its importRequest."""

    object_type_id: str = Field(
        "0-1", description="0-1 contacts, 0-2 companies, 0-3 deals, or a custom id"
    )
    id_column_type: Literal["HUBSPOT_OBJECT_ID", "HUBSPOT_ALTERNATE_ID"] = Field(
        "HUBSPOT_ALTERNATE_ID",
        description="how the id column matches records: record ID, or a unique "
        "property such as email or a custom unique id",
    )
    operation: Literal["UPDATE", "UPSERT"] = "UPDATE"
    import_name: str = "predscore scores"
    date_format: Literal["YEAR_MONTH_DAY", "MONTH_DAY_YEAR", "DAY_MONTH_YEAR"] = (
        "YEAR_MONTH_DAY"
    )


class SqlExport(_Section):
    """Upsert into a scores table and append to its history, in one transaction."""

    url_env: str = Field(
        "PREDSCORE_EXPORT_URL",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="environment variable holding the database URL",
    )
    scores_table: str = Field("lead_scores", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    history_table: str = Field(
        "lead_score_history", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$"
    )
    schema_name: str | None = Field(
        None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="database schema"
    )
    batch_rows: int = Field(5_000, ge=1, description="rows written per statement")


class ExportConfig(_Section):
    """Where and how a scoring run is written back (see the module docstring)."""

    target: Literal["salesforce", "hubspot", "sql"]
    fields: dict[str, str] = Field(
        description="predscore column → CRM field name (see EXPORT_COLUMNS); "
        "columns left out are not exported"
    )
    reasons: ReasonsExport = ReasonsExport()
    text_max_chars: int = Field(
        255, ge=8, description="longest value of any other text field"
    )
    salesforce: SalesforceExport | None = None
    hubspot: HubSpotExport | None = None
    sql: SqlExport | None = None

    @model_validator(mode="after")
    def _checks(self) -> ExportConfig:
        unknown = sorted(set(self.fields) - set(EXPORT_COLUMNS))
        if unknown:
            raise ValueError(
                f"fields: unknown column(s) {unknown}; known: {list(EXPORT_COLUMNS)}"
            )
        if "lead_id" not in self.fields:
            raise ValueError("fields: lead_id must be mapped (records match on it)")
        names = [*self.fields.values(), *self.reasons.fields]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"fields: {repeated} named more than once")
        if self.target == "salesforce":
            if self.salesforce is None:
                raise ValueError("target salesforce needs a `salesforce` section")
            if self.fields["lead_id"] != self.salesforce.external_id_field:
                raise ValueError(
                    "salesforce.external_id_field must be the field lead_id goes to "
                    f"({self.fields['lead_id']!r})"
                )
        if self.target == "sql" and not {"run_id", "scored_at"} <= set(self.fields):
            raise ValueError(
                "target sql keeps a history by run: map run_id and scored_at in "
                "`fields`"
            )
        if self.target == "hubspot" and self.hubspot is None:
            raise ValueError("target hubspot needs a `hubspot` section")
        return self

    def destination(self) -> SalesforceExport | HubSpotExport | SqlExport:
        """The settings of the target (SQL defaults when the section is left out)."""
        if self.target == "sql":
            return self.sql or SqlExport()
        found = getattr(self, self.target)
        assert found is not None
        return found


def load_export_config(path: Path) -> ExportConfig:
    """Read and check an export configuration file.

    Raises
    ------
    ConfigError
        When the file is missing or not YAML, or a key is unknown or invalid (the
        message names the file and the dotted key).
    """
    raw = read_yaml(path)
    try:
        return ExportConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top)"
        raise ConfigError(f"{path}: key '{key}': {first['msg']}") from None
