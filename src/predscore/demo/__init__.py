"""Synthetic demo CRM with a known data-generating process (``predscore demo-data``)."""

from predscore.demo.generator import DemoSummary, generate_demo_data, won_intercept

__all__ = ["DemoSummary", "generate_demo_data", "won_intercept"]
