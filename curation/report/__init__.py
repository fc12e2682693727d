"""The audit report: composition, estimates with intervals, annotation progress."""

from .build import Report, ReportInputs, build_report

__all__ = ["Report", "ReportInputs", "build_report"]
