"""SQL sources of a mapping: a query against the CRM's database gives what its CSV
export gives (same tables, same rejections), on SQLite and on a real PostgreSQL
server the suite starts; the Maven CRM tables loaded into PostgreSQL ingest to the
same Parquet files as their CSV files."""

from __future__ import annotations

import io
import re
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from sqlalchemy import create_engine, text

from predscore.errors import ConfigError, DataValidationError
from predscore.ingest import ingest, load_mapping, run_ingest
from predscore.schema import TABLE_ORDER
from tiny_export import ACCOUNTS_CSV, LEADS_CSV, MAPPING

AS_OF = pd.Timestamp("2024-06-01T00:00:00Z")
ROOT = Path(__file__).resolve().parents[2]
MAVEN = ROOT.parent / "shared" / "datasets" / "maven_crm_sales_opportunities"


def _load_text_tables(url: str) -> None:
    """The tiny export's two files as text tables, with their file order in ``pos``."""
    engine = create_engine(url)
    for name, csv in (("crm", LEADS_CSV), ("companies", ACCOUNTS_CSV)):
        frame = pd.read_csv(io.StringIO(csv), dtype=str, keep_default_na=False)
        frame.insert(0, "pos", range(len(frame)))
        frame.to_sql(name, engine, index=False, if_exists="replace")
    engine.dispose()


def _sql_mapping(folder: Path, mapping: str, queries: dict[str, str]) -> Path:
    doc = yaml.safe_load(textwrap.dedent(mapping))
    for name, query in queries.items():
        doc["sources"][name] = {"sql": query, "url_env": "CRM_DB_URL", "chunk_rows": 2}
    path = folder / "sql.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _csv_result(folder: Path):
    source = folder / "export"
    source.mkdir()
    (source / "leads.csv").write_text(LEADS_CSV)
    (source / "accounts.csv").write_text(ACCOUNTS_CSV)
    path = folder / "tiny.yaml"
    path.write_text(textwrap.dedent(MAPPING))
    return ingest(load_mapping(path), source, AS_OF, mapping_path=path)


QUERIES = {
    "crm": "SELECT id, created, stage, visits, title_role, closed, amount, company "
    "FROM crm ORDER BY pos",
    "companies": "SELECT account, sector, employees FROM companies ORDER BY pos",
}


def test_a_query_gives_what_its_csv_export_gives(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load_text_tables(db_url)
    monkeypatch.setenv("CRM_DB_URL", db_url)
    path = _sql_mapping(tmp_path, MAPPING, QUERIES)
    from_sql = ingest(load_mapping(path), None, AS_OF, mapping_path=path)
    from_csv = _csv_result(tmp_path)
    for table in TABLE_ORDER:
        pd.testing.assert_frame_equal(from_sql.tables[table], from_csv.tables[table])
    # the same rows rejected for the same reasons (the files' names aside)
    columns = ["table", "row", "column"]
    pd.testing.assert_frame_equal(
        from_sql.rejections[columns], from_csv.rejections[columns]
    )
    assert len(from_sql.rejections) > 0
    pd.testing.assert_frame_equal(from_sql.summary, from_csv.summary)
    sources = {s["name"]: s for s in from_sql.report["sources"]}
    assert sources["crm"]["rows"] == 7 and sources["crm"]["query"] == QUERIES["crm"]
    assert "file" not in sources["crm"] and len(sources["crm"]["query_sha256"]) == 64


def test_typed_columns_are_read_as_their_export_text(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dates, integers, numerics and timestamps of a typed table read as a CSV
    export prints them, so that the mapping's formats and casts apply unchanged."""
    engine = create_engine(postgres_url)
    with engine.begin() as con:
        con.execute(text("DROP TABLE IF EXISTS typed"))
        con.execute(
            text(
                "CREATE TABLE typed (pos int, d date, n integer, m numeric(10,2), "
                "f double precision, b boolean, t timestamp, tz timestamptz, s text)"
            )
        )
        con.execute(
            text(
                "INSERT INTO typed VALUES "
                "(0, '2017-03-01', 1054, 1054.5, 0.1, true, '2017-03-01 09:30:00', "
                "'2017-03-01 09:30:00+02', ''), "
                "(1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
            )
        )
    engine.dispose()
    monkeypatch.setenv("PREDSCORE_SOURCE_URL", postgres_url)
    from predscore.ingest import read_sql_source
    from predscore.ingest.mapping import SourceSpec

    spec = SourceSpec(sql="SELECT d, n, m, f, b, t, tz, s FROM typed ORDER BY pos")
    frame = read_sql_source(spec, "typed")
    assert frame.iloc[0].tolist()[:-1] == [
        "2017-03-01",
        "1054",
        "1054.50",
        "0.1",
        "true",
        "2017-03-01 09:30:00",
        "2017-03-01 07:30:00+0000",
    ]
    assert pd.isna(frame.iloc[0]["s"])  # an empty text is missing, as in a CSV
    # a type Arrow cannot print as text still reads, as the database prints it
    odd = read_sql_source(
        SourceSpec(sql="SELECT interval '2 days' AS wait, ARRAY[1, 2] AS pair"), "odd"
    )
    assert odd["wait"].notna().all() and odd["pair"].notna().all()
    assert frame.iloc[1].isna().all()
    assert all(frame[c].dtype == "str" for c in frame.columns)


def test_credentials_come_from_the_environment_and_never_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _sql_mapping(tmp_path, MAPPING, QUERIES)
    monkeypatch.delenv("CRM_DB_URL", raising=False)
    with pytest.raises(ConfigError, match="environment variable CRM_DB_URL"):
        ingest(load_mapping(path), None, AS_OF)
    # an unreachable server: the message names the source and hides the password
    monkeypatch.setenv(
        "CRM_DB_URL", "postgresql://crm:s3cret-pass@127.0.0.1:9/crm?connect_timeout=2"
    )
    with pytest.raises(DataValidationError) as caught:
        ingest(load_mapping(path), None, AS_OF)
    message = str(caught.value)
    assert "SQL source 'crm'" in message or "SQL source 'companies'" in message
    assert "s3cret-pass" not in message and "***" in message


def test_a_failing_query_names_its_source(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load_text_tables(db_url)
    monkeypatch.setenv("CRM_DB_URL", db_url)
    path = _sql_mapping(
        tmp_path, MAPPING, {**QUERIES, "crm": "SELECT * FROM no_such_table"}
    )
    with pytest.raises(DataValidationError, match="SQL source 'crm'.*query failed"):
        ingest(load_mapping(path), None, AS_OF)


def test_a_source_is_a_file_or_a_query_not_both(tmp_path: Path) -> None:
    doc = yaml.safe_load(textwrap.dedent(MAPPING))
    doc["sources"]["crm"]["sql"] = "SELECT 1"
    path = tmp_path / "both.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match="either `file` or `sql`"):
        load_mapping(path)


# --- the Maven CRM tables in PostgreSQL --------------------------------------------
_MAVEN_DDL = {
    "accounts": "account text, sector text, year_established integer, revenue "
    "numeric(10,2), employees integer, office_location text, subsidiary_of text",
    "products": "product text, series text, sales_price integer",
    "sales_teams": "sales_agent text, manager text, regional_office text",
    "sales_pipeline": "opportunity_id text, sales_agent text, product text, "
    "account text, deal_stage text, engage_date date, close_date date, "
    "close_value integer",
}


@pytest.mark.datasets
def test_maven_from_postgresql_equals_maven_from_its_csv_files(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not MAVEN.is_dir():
        pytest.skip(f"{MAVEN} is absent (the public data sets of ../shared/datasets)")
    engine = create_engine(postgres_url)
    with engine.begin() as con:
        for name, columns in _MAVEN_DDL.items():
            con.execute(text(f"DROP TABLE IF EXISTS maven_{name}"))
            con.execute(text(f"CREATE TABLE maven_{name} (pos bigserial, {columns})"))
    # the files as PostgreSQL itself loads CSV (COPY), typed; pos keeps file order
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cursor:
            for name, columns in _MAVEN_DDL.items():
                names = ", ".join(c.split()[0] for c in columns.split(", "))
                with cursor.copy(
                    f"COPY maven_{name} ({names}) FROM STDIN "
                    "WITH (FORMAT csv, HEADER true)"
                ) as copy:
                    copy.write((MAVEN / f"{name}.csv").read_bytes())
        raw.commit()
    finally:
        raw.close()
    engine.dispose()
    monkeypatch.setenv("PREDSCORE_SOURCE_URL", postgres_url)
    mapping = yaml.safe_load(
        (ROOT / "configs" / "mappings" / "maven_crm.yaml").read_text()
    )
    files = {name: spec["file"] for name, spec in mapping["sources"].items()}
    for name, file in files.items():
        table = re.sub(r"\.csv$", "", file)
        columns = ", ".join(c.split()[0] for c in _MAVEN_DDL[table].split(", "))
        mapping["sources"][name] = {
            "sql": f"SELECT {columns} FROM maven_{table} ORDER BY pos"
        }
    sql_mapping = tmp_path / "maven_sql.yaml"
    sql_mapping.write_text(yaml.safe_dump(mapping, sort_keys=False))
    as_of = pd.Timestamp("2018-01-01T00:00:00Z")
    from_sql = run_ingest(sql_mapping, None, tmp_path / "sql", as_of)
    from_csv = run_ingest(
        ROOT / "configs" / "mappings" / "maven_crm.yaml", MAVEN, tmp_path / "csv", as_of
    )
    assert from_sql.summary.equals(from_csv.summary)
    for table in TABLE_ORDER:
        a = pq.read_table(tmp_path / "sql" / f"{table}.parquet")
        b = pq.read_table(tmp_path / "csv" / f"{table}.parquet")
        assert a.equals(b), table
        assert (tmp_path / "sql" / f"{table}.parquet").read_bytes() == (
            tmp_path / "csv" / f"{table}.parquet"
        ).read_bytes(), table
    assert len(from_sql.tables["leads"]) == 8800
