"""A tiny CRM export and its mapping, shared by the ingest tests, the SQL-source
tests and the fuzzing of the ingest path (``leads.csv`` and ``accounts.csv`` joined
by ``company``; rows with problems of every kind)."""

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

LEADS_CSV = """\
id,created,stage,visits,title_role,closed,amount,company
L1,2024-01-05,won,3,boss,2024-02-01,100,A1
L2,2024-01-06,lost,0,staff,2024-02-02,0,A2
L3,05/01/2024,won,1,boss,2024-02-03,50,A1
L4,2024-01-08,open,2,staff,,,
L5,2024-01-09,lost,x,staff,2024-02-04,0,A9
L1,2024-01-10,won,1,boss,2024-02-05,10,A1
L6,2024-01-11,maybe,1,staff,,,A2
"""
ACCOUNTS_CSV = """\
account,sector,employees
A1,software,120
A2,retail,many
"""
