"""Ingest mappings: bad mappings fail with the file and key, bad rows are rejected.

Every test writes a tiny export and its mapping in ``tmp_path``; rows are numbered as
in the source file (0-based, header excluded), which is what rejections report.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from predscore.cli import app
from predscore.errors import ConfigError, DataValidationError
from predscore.ingest import (
    REPORT_FILE,
    IngestResult,
    ingest,
    load_mapping,
    run_ingest,
)
from predscore.schema import TABLE_ORDER
from tiny_export import ACCOUNTS_CSV, LEADS_CSV, MAPPING

AS_OF = pd.Timestamp("2026-01-01T00:00:00Z")
MAPPINGS = Path(__file__).resolve().parents[2] / "configs" / "mappings"


def _export(
    folder: Path, mapping: str = MAPPING, leads: str = LEADS_CSV
) -> tuple[Path, Path]:
    """Write the tiny export and its mapping; return (mapping file, source folder)."""
    source = folder / "export"
    source.mkdir(parents=True, exist_ok=True)
    (source / "leads.csv").write_text(leads)
    (source / "accounts.csv").write_text(ACCOUNTS_CSV)
    path = folder / "tiny.yaml"
    path.write_text(textwrap.dedent(mapping))
    return path, source


def _run(
    tmp_path: Path, mapping: str = MAPPING, leads: str = LEADS_CSV
) -> IngestResult:
    path, source = _export(tmp_path, mapping, leads)
    return ingest(load_mapping(path), source, AS_OF, mapping_path=path)


def _rejections(result: IngestResult, table: str) -> dict[int, str]:
    frame = result.rejections[result.rejections["table"] == table]
    return dict(zip(frame["row"], frame["reason"], strict=True))


# --- mapping errors: the file and the dotted key -------------------------------------


def test_unknown_key_in_yaml_names_file_and_key(tmp_path: Path) -> None:
    bad = MAPPING.replace("lead_id: id", "lead_id: {colum: id}")
    path, _ = _export(tmp_path, bad)
    with pytest.raises(
        ConfigError, match=r"tiny\.yaml: key 'leads\.columns\.lead_id\.colum'"
    ):
        load_mapping(path)


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path, _ = _export(tmp_path, MAPPING + "leeks: {}\n")
    with pytest.raises(ConfigError, match=r"tiny\.yaml: key 'leeks': Extra inputs"):
        load_mapping(path)


def test_unknown_source_column_names_key_and_suggests(tmp_path: Path) -> None:
    bad = MAPPING.replace("column: visits", "column: visit")
    with pytest.raises(
        ConfigError,
        match=r"tiny\.yaml: key 'leads\.extra\.visits': unknown column 'visit' in "
        r"source 'crm'; did you mean \['visits'\]",
    ):
        _run(tmp_path, bad)


def test_unknown_label_column(tmp_path: Path) -> None:
    bad = MAPPING.replace("column: stage", "column: Stage")
    with pytest.raises(
        ConfigError, match=r"key 'label\.column': unknown column 'Stage'"
    ):
        _run(tmp_path, bad)


def test_value_map_outside_a_closed_vocabulary(tmp_path: Path) -> None:
    bad = MAPPING.replace("boss: decision_maker", "boss: chief")
    path, _ = _export(tmp_path, bad)
    with pytest.raises(
        ConfigError,
        match=r"tiny\.yaml: key 'leads\.columns\.role\.map\.boss': 'chief' is not one "
        r"of \['decision_maker'",
    ):
        load_mapping(path)


def test_value_map_must_map_to_scalars(tmp_path: Path) -> None:
    bad = MAPPING.replace("boss: decision_maker", "boss: [decision_maker]")
    path, _ = _export(tmp_path, bad)
    with pytest.raises(ConfigError, match=r"key 'leads\.columns\.role\.map\.boss"):
        load_mapping(path)


def test_unmapped_needs_a_map(tmp_path: Path) -> None:
    bad = MAPPING.replace("lead_id: id", "lead_id: {column: id, unmapped: reject}")
    path, _ = _export(tmp_path, bad)
    with pytest.raises(ConfigError, match=r"key 'leads\.columns\.lead_id'.*'unmapped'"):
        load_mapping(path)


def test_leak_column_cannot_feed_a_lead_attribute(tmp_path: Path) -> None:
    bad = MAPPING.replace(
        "    visits: {column: visits, cast: int}",
        "    visits: {column: visits, cast: int}\n    deal: amount",
    )
    path, _ = _export(tmp_path, bad)
    with pytest.raises(
        ConfigError,
        match=r"key 'leads\.extra\.deal': reads leak column\(s\) \['amount'\]",
    ):
        load_mapping(path)


def test_unknown_canonical_column_points_to_extra(tmp_path: Path) -> None:
    bad = MAPPING.replace("    role: {", "    visits: visits\n    role: {")
    path, _ = _export(tmp_path, bad)
    with pytest.raises(ConfigError, match=r"key 'leads\.columns\.visits'.*'extra'"):
        load_mapping(path)


def test_required_column_without_rule(tmp_path: Path) -> None:
    bad = MAPPING.replace(
        '    created_at: {column: created, format: "%Y-%m-%d", timezone: Europe/Paris}\n',
        "",
    )
    path, _ = _export(tmp_path, bad)
    with pytest.raises(ConfigError, match=r"key 'leads\.columns'.*\['created_at'\]"):
        load_mapping(path)


def test_bad_timezone_and_two_origins(tmp_path: Path) -> None:
    path, _ = _export(tmp_path, MAPPING.replace("Europe/Paris", "Europe/Pariss"))
    with pytest.raises(ConfigError, match=r"created_at\.timezone.*unknown timezone"):
        load_mapping(path)
    path, _ = _export(
        tmp_path, MAPPING.replace("lead_id: id", "lead_id: {column: id, constant: x}")
    )
    with pytest.raises(ConfigError, match=r"exactly one of 'column', 'constant'"):
        load_mapping(path)


def test_missing_source_file(tmp_path: Path) -> None:
    path, source = _export(tmp_path)
    (source / "accounts.csv").unlink()
    with pytest.raises(
        DataValidationError, match=r"accounts\.csv: source file not found"
    ):
        ingest(load_mapping(path), source, AS_OF)


# --- rows: every source row kept or rejected with its reason ------------------------


def test_every_source_row_is_kept_or_rejected(tmp_path: Path) -> None:
    result = _run(tmp_path)
    summary = result.summary.set_index("table")
    assert summary.loc["leads", "rows_in"] == 7
    assert (summary["rows_in"] == summary["kept"] + summary["rejected"]).all()
    counts = result.rejections["table"].value_counts()
    for table in TABLE_ORDER:
        assert counts.get(table, 0) == summary.loc[table, "rejected"]


def test_unparseable_date_is_rejected_with_its_reason(tmp_path: Path) -> None:
    result = _run(tmp_path)
    leads = _rejections(result, "leads")
    assert leads[2] == (
        "unparseable date '05/01/2024' in source column 'created' "
        "(expected format '%Y-%m-%d')"
    )
    # its outcome goes too, pointing at the lead's row in the source file
    assert _rejections(result, "outcomes")[2] == "lead_id rejected in leads (row 2)"


def test_bad_cast_and_cascade_from_accounts(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert _rejections(result, "accounts") == {
        1: "unparseable value 'many' in source column 'employees' (expected an integer)"
    }
    leads = _rejections(result, "leads")
    assert leads[1] == "account_id rejected in accounts (row 1)"
    assert (
        leads[4]
        == "unparseable value 'x' in source column 'visits' (expected an integer)"
    )


def test_validation_rows_are_source_rows(tmp_path: Path) -> None:
    # row 2 is dropped before validation: the duplicate at row 5 must still say 5 and 0
    result = _run(tmp_path)
    assert _rejections(result, "leads")[5] == "duplicate lead_id (first seen at row 0)"


def test_unknown_label_rejects_the_lead(tmp_path: Path) -> None:
    result = _run(tmp_path)
    reason = _rejections(result, "leads")[6]
    assert reason.startswith("unknown label value 'maybe' in source column 'stage'")
    assert "won ['won'], lost ['lost'], open ['open']" in reason


def test_labels_value_map_timezone_and_leaks(tmp_path: Path) -> None:
    result = _run(tmp_path)
    labels = result.labels.set_index("label")
    assert labels.loc["won", "source"] == 3 and labels.loc["rejected", "source"] == 1
    assert labels.loc["won", "kept"] == 1 and labels.loc["open", "kept"] == 1
    leads = result.tables["leads"].set_index("lead_id")
    assert leads.loc["L1", "role"] == "decision_maker"
    # a Paris date at midnight is the evening before in UTC
    assert leads.loc["L1", "created_at"] == pd.Timestamp("2024-01-04T23:00:00Z")
    assert leads.loc["L1", "visits"] == 3
    assert "amount" not in leads.columns
    assert result.report["leak_columns"] == [
        {"column": "amount", "reason": "deal value, known at closing"}
    ]


def test_unmapped_reject_policy(tmp_path: Path) -> None:
    strict = MAPPING.replace(
        "{boss: decision_maker, staff: user}}",
        "{boss: decision_maker}, unmapped: reject}",
    )
    reasons = _rejections(_run(tmp_path, strict), "leads")
    assert reasons[1] == (
        "value 'staff' of source column 'title_role' is not in the value map of "
        "leads.columns.role"
    )


def test_null_in_value_map_means_missing(tmp_path: Path) -> None:
    select = MAPPING.replace("staff: user}", "staff: null}")
    leads = _run(tmp_path, select).tables["leads"].set_index("lead_id")
    assert pd.isna(leads.loc["L4", "role"])


def test_fallback_offset_and_missing_label(tmp_path: Path) -> None:
    mapping = MAPPING.replace(
        '  closed_at: {column: closed, format: "%Y-%m-%d"}',
        '  closed_at:\n    column: closed\n    format: "%Y-%m-%d"\n'
        '    fallback: {column: created, format: "%Y-%m-%d", offset_days: 30}',
    ).replace("  open: [open]", "  open: [open]\n  missing: lost")
    # L4 loses its label: missing means lost, closed 30 days after its creation
    leads = LEADS_CSV.replace("L4,2024-01-08,open,", "L4,2024-01-08,,")
    result = _run(tmp_path, mapping, leads)
    outcomes = result.tables["outcomes"].set_index("lead_id")
    assert outcomes.loc["L4", "outcome"] == "lost"
    assert outcomes.loc["L4", "closed_at"] == pd.Timestamp("2024-02-07T00:00:00Z")


# --- derivations and readers ------------------------------------------------------


def test_month_sequence_and_row_numbers(tmp_path: Path) -> None:
    csv = "month;y\nnov;no\nnov;yes\ndec;no\nmar;yes\napr;no\n"
    (tmp_path / "bank.csv").write_text(csv)
    (tmp_path / "m.yaml").write_text(
        textwrap.dedent(
            """\
            name: months
            sources: {bank: {file: bank.csv, delimiter: ";"}}
            leads:
              from: bank
              columns:
                lead_id: {row_number: {prefix: b-}}
                created_at: &c {month_sequence: {column: month, first_year: 2008}}
            label:
              column: y
              won: ["yes"]
              lost: ["no"]
              closed_at: {<<: *c, offset_days: 1}
            """
        )
    )
    result = ingest(load_mapping(tmp_path / "m.yaml"), tmp_path / "bank.csv", AS_OF)
    leads = result.tables["leads"]
    assert list(leads["lead_id"]) == ["b-0", "b-1", "b-2", "b-3", "b-4"]
    assert list(leads["created_at"]) == [
        pd.Timestamp(t)
        for t in (
            "2008-11-01T00:00Z",
            "2008-11-16T00:00Z",  # second of two November rows: half way
            "2008-12-01T00:00Z",
            "2009-03-01T00:00Z",  # the month went back: a new year
            "2009-04-01T00:00Z",
        )
    ]
    closed = result.tables["outcomes"]["closed_at"] - leads["created_at"]
    assert (closed == pd.Timedelta(days=1)).all()


def test_join_with_key_map_and_unique_lookup(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text(
        "id,product,won\nD1,GTXPro,yes\nD2,Basic,no\nD3,Other,no\n"
    )
    (tmp_path / "products.csv").write_text("product,price\nGTX Pro,10\nBasic,5\n")
    mapping = textwrap.dedent(
        """\
        name: joined
        sources:
          deals: {file: deals.csv}
          products: {file: products.csv}
        joins:
          - {into: deals, lookup: products, left_on: product, right_on: product,
             key_map: {GTXPro: GTX Pro}, prefix: "product_"}
        leads:
          from: deals
          columns:
            lead_id: id
            created_at: {constant: "2024-01-01T00:00:00Z"}
          extra:
            price: {column: product_price, cast: float}
        label:
          column: won
          won: ["yes"]
          lost: ["no"]
          closed_at: {constant: "2024-02-01T00:00:00Z"}
        """
    )
    (tmp_path / "j.yaml").write_text(mapping)
    result = ingest(load_mapping(tmp_path / "j.yaml"), tmp_path, AS_OF)
    assert list(result.tables["leads"]["price"].fillna(-1)) == [10.0, 5.0, -1.0]
    assert result.report["joins"] == [
        {"into": "deals", "lookup": "products", "matched": 2, "unmatched": 1}
    ]
    (tmp_path / "products.csv").write_text("product,price\nBasic,10\nBasic,5\n")
    with pytest.raises(
        DataValidationError, match=r"products\.csv: column 'product' must be unique"
    ):
        ingest(load_mapping(tmp_path / "j.yaml"), tmp_path, AS_OF)


@pytest.mark.parametrize("kind", ["parquet", "excel"])
def test_parquet_and_excel_sources(tmp_path: Path, kind: str) -> None:
    frame = pd.DataFrame(
        {
            "id": ["a", "b"],
            "created": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 11:00"]),
            "won": [1, 0],
        }
    )
    if kind == "parquet":
        file = "crm.parquet"
        frame.to_parquet(tmp_path / file)
    else:
        file = "crm.xlsx"
        frame.to_excel(tmp_path / file, index=False, sheet_name="Leads")
    (tmp_path / "m.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: typed
            sources: {{crm: {{file: {file}, sheet: Leads}}}}
            leads:
              from: crm
              columns:
                lead_id: id
                created_at: {{column: created, timezone: America/New_York}}
            label:
              column: won
              won: ["1"]
              lost: ["0"]
              closed_at: {{column: created, timezone: America/New_York, offset_days: 2}}
            """
        )
    )
    result = ingest(load_mapping(tmp_path / "m.yaml"), tmp_path, AS_OF)
    leads = result.tables["leads"]
    assert leads["created_at"].iloc[0] == pd.Timestamp("2024-01-01T15:00:00Z")
    assert list(result.tables["outcomes"]["outcome"]) == ["won", "lost"]


def test_shipped_mappings_load() -> None:
    names = sorted(p.stem for p in MAPPINGS.glob("*.yaml"))
    assert names == ["ibm_sales", "maven_crm", "olist", "uci_bank", "x_education"]
    for path in MAPPINGS.glob("*.yaml"):
        mapping = load_mapping(path)
        assert mapping.leaks, f"{path.name} names no leak column"


# --- the command line ----------------------------------------------------------------


def test_cli_ingest_writes_tables_rejections_and_report(tmp_path: Path) -> None:
    path, source = _export(tmp_path)
    out = tmp_path / "out"
    result = run_ingest(path, source, out, AS_OF)
    assert sorted(p.stem for p in out.glob("*.parquet")) == sorted(
        [*TABLE_ORDER, "rejections"]
    )
    report = json.loads((out / REPORT_FILE).read_text())
    assert report["tables"] == result.summary.to_dict("records")
    assert set(report["seconds"]) == {"read", "derive", "validate", "total"}
    stored = pd.read_parquet(out / "rejections.parquet")
    assert len(stored) == len(result.rejections)

    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
    args = ["ingest", "--mapping", str(path), "--source", str(source)]
    cli = runner.invoke(
        app, [*args, "--out", str(tmp_path / "cli"), "--as-of", "2026-01-01"]
    )
    assert cli.exit_code == 0, cli.output
    for word in ("rows_in", "kept", "rejected", "won", "lost", "open", "amount"):
        assert word in cli.output


def test_cli_bad_mapping_is_one_line_exit_1(tmp_path: Path) -> None:
    path, source = _export(tmp_path, MAPPING.replace("column: visits", "column: visit"))
    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
    cli = runner.invoke(
        app,
        [
            "ingest",
            "--mapping",
            str(path),
            "--source",
            str(source),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert cli.exit_code == 1
    assert "unknown column 'visit'" in cli.output


def test_dates_in_a_timezone_ambiguous_hour_is_rejected() -> None:
    from predscore.ingest.derive import apply_rule
    from predscore.ingest.mapping import Rule

    frame = pd.DataFrame({"d": ["2024-10-27 02:30:00", "2024-10-27 04:00:00", None]})
    derived = apply_rule(
        frame, Rule(column="d", timezone="Europe/Paris"), "timestamp", "k"
    )
    assert derived.values.iloc[1] == pd.Timestamp("2024-10-27T03:00:00Z")
    assert derived.problems.iloc[0] == (
        "ambiguous local time '2024-10-27 02:30:00' in source column 'd' "
        "(clocks go back in Europe/Paris)"
    )
    assert derived.bad.tolist() == [True, False, False]


def test_cli_ingest_help() -> None:
    result = CliRunner().invoke(app, ["ingest", "--help"])
    assert result.exit_code == 0
    assert "--mapping" in result.output and "--as-of" in result.output


# --- broken files: malformed rows rejected with their line, bad bytes named ---------


def _conserved(result: IngestResult) -> None:
    summary = result.summary.set_index("table")
    assert (summary["rows_in"] == summary["kept"] + summary["rejected"]).all()


def test_a_file_cut_mid_row_rejects_that_row_and_keeps_the_rest(
    tmp_path: Path,
) -> None:
    cut = LEADS_CSV.rstrip("\n") + "\nL7,2024-01-12,won,1"  # 4 of 8 fields, no newline
    result = _run(tmp_path, leads=cut)
    _conserved(result)
    assert result.summary.set_index("table").loc["leads", "rows_in"] == 8
    assert _rejections(result, "leads")[7] == (
        "malformed row: leads.csv line 9: 4 fields, fewer than the header's 8 "
        "(the row is cut short)"
    )
    # the rows before it are read as from the whole file
    assert _rejections(result, "leads")[2].startswith("unparseable date")
    assert "L7" not in set(result.tables["leads"]["lead_id"])
    (source,) = [s for s in result.report["sources"] if s["name"] == "crm"]
    assert source["malformed_rows"] == [
        {
            "row": 7,
            "line": 9,
            "reason": "4 fields, fewer than the header's 8 (the row is cut short)",
        }
    ]


def test_extra_fields_and_unterminated_quotes_reject_only_their_row(
    tmp_path: Path,
) -> None:
    lines = LEADS_CSV.splitlines(keepends=True)
    lines[2] = lines[2].rstrip("\n") + ",surplus\n"  # L2: 9 fields
    lines[4] = 'L4,2024-01-08,"open,2,staff,,,\n'  # a quote that never closes
    multi = 'L8,2024-01-13,won,1,"boss",2024-02-06,5,"A1"\n'
    result = _run(tmp_path, leads="".join([*lines, multi]))
    _conserved(result)
    leads = _rejections(result, "leads")
    assert (
        leads[1]
        == "malformed row: leads.csv line 3: 9 fields, more than the header's 8"
    )
    assert leads[3] == "malformed row: leads.csv line 5: unterminated quote"
    kept = set(result.tables["leads"]["lead_id"])
    assert {"L1", "L8"} <= kept  # read again from the line after the quote
    assert not {"L2", "L4"} & kept


def test_a_quoted_field_over_two_lines_is_one_row(tmp_path: Path) -> None:
    note = 'L9,2024-01-14,lost,2,"staff, on\ntwo lines",2024-02-07,0,"A1"\n'
    result = _run(tmp_path, leads=LEADS_CSV + note)
    assert not result.report["sources"][0]["malformed_rows"]
    assert result.summary.set_index("table").loc["leads", "rows_in"] == 8
    # the field is read whole: its value is outside the role map, nothing else
    assert _rejections(result, "leads")[7].startswith(
        "'staff, on\\ntwo lines' in column"
    )


def test_a_byte_not_valid_in_the_declared_encoding_names_its_line(
    tmp_path: Path,
) -> None:
    path, source = _export(tmp_path)
    data = (source / "leads.csv").read_bytes().replace(b"A2\n", b"A\xe92\n", 1)
    (source / "leads.csv").write_bytes(data)
    with pytest.raises(
        DataValidationError,
        match=r"leads\.csv, line 3: byte 0xe9 at column \d+ is not valid utf-8; "
        r"declare the file's encoding",
    ):
        ingest(load_mapping(path), source, AS_OF)
    replaced = MAPPING.replace(
        "crm: {file: leads.csv}", "crm: {file: leads.csv, encoding_errors: replace}"
    )
    path.write_text(textwrap.dedent(replaced))
    result = ingest(load_mapping(path), source, AS_OF)
    _conserved(result)
    # read as "A\ufffd2": an account that does not exist
    assert (
        _rejections(result, "leads")[1] == "unknown account_id: no such row in accounts"
    )
