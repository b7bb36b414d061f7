"""A tiny CRM export and its mapping, shared by the ingest tests and the fuzzing of
the ingest path (``leads.csv`` and ``accounts.csv`` joined by ``company``)."""

MAPPING = """\
name: tiny
sources:
  crm: {file: leads.csv}
  companies: {file: accounts.csv}
accounts:
  from: companies
  columns:
    account_id: account
    sector: sector
    employees: employees
leads:
  from: crm
  columns:
    lead_id: id
    account_id: company
    created_at: {column: created, format: "%Y-%m-%d", timezone: Europe/Paris}
    role: {column: title_role, map: {boss: decision_maker, staff: user}}
  extra:
    visits: {column: visits, cast: int}
label:
  column: stage
  won: [won]
  lost: [lost]
  open: [open]
  closed_at: {column: closed, format: "%Y-%m-%d"}
  amount: {column: amount, cast: float}
leaks:
  amount: deal value, known at closing
"""
