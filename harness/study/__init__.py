"""The model comparison study: measures as units over per-collection contexts.

``evaluate(...)`` runs every registered measure and returns a :class:`Study` of tables.
Nothing here prints; torch and sentence-transformers load only with a model.
"""

from harness.study.base import Column, Measure, Plot, StudyInputs, StudyPlan, StudySettings, Table
from harness.study.evaluate import evaluate, read_inputs, run_study, study_settings
from harness.study.measures import MEASURES, TABLES, select_measures, tables
from harness.study.result import Study, empty_study, load_study

__all__ = [
    "Column",
    "MEASURES",
    "Measure",
    "Plot",
    "Study",
    "StudyInputs",
    "StudyPlan",
    "StudySettings",
    "TABLES",
    "Table",
    "empty_study",
    "evaluate",
    "load_study",
    "read_inputs",
    "run_study",
    "select_measures",
    "study_settings",
    "tables",
]
