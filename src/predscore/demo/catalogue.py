"""Catalogues of the synthetic demo CRM: sectors, countries, job titles, tech, content.

Stage: source (demo data only). These describe the simulated market, not anyone's
business rules; ``configs/demo.yaml`` can override the sector and country weights.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "ASSETS",
    "COUNTRIES",
    "LOST_REASONS",
    "REPS",
    "SECTORS",
    "SOURCES",
    "TECH",
    "TITLES",
    "WEB_PAGES",
    "WEBINARS",
    "Title",
]


class Sector(NamedTuple):
    weight: float
    revenue_per_employee: float  # median, in the account's currency
    tech_affinity: float  # multiplies the adoption of cloud/SaaS tools


SECTORS: dict[str, Sector] = {
    "software_saas": Sector(0.12, 180_000, 2.2),
    "fintech": Sector(0.06, 250_000, 2.0),
    "it_services": Sector(0.10, 120_000, 1.8),
    "financial_services": Sector(0.07, 300_000, 1.2),
    "manufacturing": Sector(0.12, 200_000, 0.6),
    "retail": Sector(0.09, 150_000, 0.8),
    "healthcare": Sector(0.08, 110_000, 0.7),
    "education": Sector(0.06, 60_000, 0.6),
    "logistics": Sector(0.06, 160_000, 0.6),
    "media": Sector(0.05, 140_000, 1.1),
    "telecom": Sector(0.04, 350_000, 1.3),
    "energy": Sector(0.04, 500_000, 0.5),
    "public_sector": Sector(0.05, 80_000, 0.4),
    "consulting": Sector(0.06, 130_000, 1.2),
}


class Country(NamedTuple):
    weight: float
    region: str


COUNTRIES: dict[str, Country] = {
    "FR": Country(0.16, "EMEA"),
    "DE": Country(0.12, "EMEA"),
    "GB": Country(0.11, "EMEA"),
    "NL": Country(0.04, "EMEA"),
    "BE": Country(0.04, "EMEA"),
    "ES": Country(0.05, "EMEA"),
    "IT": Country(0.05, "EMEA"),
    "CH": Country(0.03, "EMEA"),
    "SE": Country(0.02, "EMEA"),
    "DK": Country(0.02, "EMEA"),
    "PL": Country(0.03, "EMEA"),
    "MA": Country(0.02, "EMEA"),
    "US": Country(0.14, "NA"),
    "CA": Country(0.03, "NA"),
    "BR": Country(0.04, "LATAM"),
    "MX": Country(0.02, "LATAM"),
    "IN": Country(0.05, "APAC"),
    "SG": Country(0.01, "APAC"),
    "AU": Country(0.02, "APAC"),
}


class Title(NamedTuple):
    title: str
    role: str
    seniority: str
    department: str
    weight: float


TITLES: tuple[Title, ...] = (
    Title("CEO", "decision_maker", "c_level", "executive", 0.05),
    Title("Founder & CEO", "decision_maker", "c_level", "executive", 0.03),
    Title("COO", "decision_maker", "c_level", "operations", 0.015),
    Title("CFO", "decision_maker", "c_level", "finance", 0.02),
    Title("CTO", "decision_maker", "c_level", "it", 0.025),
    Title("Chief Revenue Officer", "decision_maker", "c_level", "sales", 0.015),
    Title("CMO", "decision_maker", "c_level", "marketing", 0.02),
    Title("VP Sales", "decision_maker", "vp", "sales", 0.035),
    Title("VP Marketing", "decision_maker", "vp", "marketing", 0.03),
    Title("VP Revenue Operations", "decision_maker", "vp", "revenue_operations", 0.01),
    Title("Head of Sales", "decision_maker", "director", "sales", 0.035),
    Title("Head of Growth", "influencer", "director", "marketing", 0.03),
    Title("Sales Director", "decision_maker", "director", "sales", 0.03),
    Title("Marketing Director", "influencer", "director", "marketing", 0.035),
    Title("IT Director", "influencer", "director", "it", 0.025),
    Title(
        "Revenue Operations Manager",
        "influencer",
        "manager",
        "revenue_operations",
        0.03,
    ),
    Title("Sales Operations Manager", "influencer", "manager", "sales", 0.03),
    Title("Marketing Manager", "influencer", "manager", "marketing", 0.06),
    Title("Demand Generation Manager", "influencer", "manager", "marketing", 0.035),
    Title("Product Manager", "influencer", "manager", "product", 0.035),
    Title("Procurement Manager", "influencer", "manager", "procurement", 0.015),
    Title("Account Executive", "user", "individual", "sales", 0.05),
    Title("Sales Development Representative", "user", "individual", "sales", 0.045),
    Title("Marketing Specialist", "user", "individual", "marketing", 0.05),
    Title("Content Marketing Specialist", "user", "individual", "marketing", 0.035),
    Title("Data Analyst", "user", "individual", "data", 0.045),
    Title("Business Analyst", "user", "individual", "operations", 0.035),
    Title("Software Engineer", "user", "individual", "it", 0.04),
    Title("Consultant", "user", "individual", "consulting", 0.03),
    Title("Marketing Intern", "user", "individual", "marketing", 0.015),
    Title("Student", "user", "individual", "none", 0.015),
    Title("Job Seeker", "user", "individual", "none", 0.01),
)

SOURCES: dict[str, float] = {
    "inbound": 0.45,
    "outbound": 0.25,
    "event": 0.12,
    "referral": 0.10,
    "partner": 0.08,
}

#: tool → base adoption probability (before sector affinity)
TECH: dict[str, float] = {
    "salesforce": 0.18,
    "hubspot": 0.15,
    "pipedrive": 0.05,
    "microsoft_dynamics": 0.07,
    "sap": 0.08,
    "oracle": 0.05,
    "aws": 0.20,
    "azure": 0.15,
    "gcp": 0.08,
    "snowflake": 0.06,
    "segment": 0.04,
    "marketo": 0.05,
    "zendesk": 0.08,
    "slack": 0.25,
    "jira": 0.15,
    "shopify": 0.04,
}
#: tools that are old on-premise suites: adoption falls with tech affinity
LEGACY_TECH = ("sap", "oracle", "microsoft_dynamics")

#: content asset → (share among curiosity-driven downloads, share among intent-driven)
ASSETS: dict[str, tuple[float, float]] = {
    "ebook_state_of_b2b_sales": (0.25, 0.05),
    "whitepaper_predictive_scoring": (0.20, 0.10),
    "guide_lead_nurturing": (0.20, 0.05),
    "infographic_funnel_benchmarks": (0.15, 0.02),
    "case_study_fintech": (0.08, 0.20),
    "case_study_saas": (0.07, 0.20),
    "roi_calculator": (0.03, 0.18),
    "pricing_guide": (0.02, 0.20),
}

#: web page → (share among curiosity-driven views, among intent-driven, among job seekers)
WEB_PAGES: dict[str, tuple[float, float, float]] = {
    "/blog": (0.45, 0.05, 0.10),
    "/": (0.15, 0.10, 0.15),
    "/product": (0.12, 0.25, 0.05),
    "/integrations": (0.06, 0.15, 0.0),
    "/case-studies": (0.06, 0.12, 0.0),
    "/pricing": (0.03, 0.25, 0.0),
    "/docs": (0.08, 0.08, 0.0),
    "/careers": (0.05, 0.0, 0.70),
}

WEBINARS = (
    "webinar_ai_for_sales",
    "webinar_icp_workshop",
    "webinar_pipeline_hygiene",
    "webinar_customer_story",
    "webinar_product_tour",
)

LOST_REASONS: dict[str, float] = {
    "no_budget": 0.2,
    "no_decision": 0.25,
    "timing": 0.2,
    "competitor": 0.15,
    "no_response": 0.15,
    "not_a_fit": 0.05,
}

#: region → sales reps who own its accounts (fictional names). Every contact of an
#: account has the account's owner; regions not listed go to the ``OTHER`` reps.
REPS: dict[str, tuple[str, ...]] = {
    "EMEA": ("Claire Dubois", "Jonas Weber", "Amelia Clarke", "Marco Rossi"),
    "NA": ("Dana Brooks", "Ethan Miller"),
    "LATAM": ("Lucia Santos",),
    "APAC": ("Priya Nair",),
    "OTHER": ("Sam Taylor",),
}
