"""The audit report: composition, representation, prevalence per group, estimates with
intervals, annotation progress and agreement, units still unlabeled."""

from .assembly import Builder, Report, ReportInputs
from .compose import build_report

__all__ = ["Builder", "Report", "ReportInputs", "build_report"]
