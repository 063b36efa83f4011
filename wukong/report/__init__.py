"""`wukong report`: the dataset report (funnel, distributions, per-source/query/host numbers) as HTML with PNGs.

Modules: `data` reads the stages' files into summaries, `funnel` orders the rejection reasons,
`captions` counts jieba words, `fonts` finds a CJK font, `plots` draws the PNGs, `sections` pairs
each plot with its table, `page` renders the HTML and `build` ties them together.
"""

from wukong.report.build import ReportResult, build_report
from wukong.report.data import Limits, load_report_data

__all__ = ["Limits", "ReportResult", "build_report", "load_report_data"]
