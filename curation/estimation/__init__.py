"""Design-based estimation from a labeled sample (DESIGN §5).

Pure functions over a sample table (``design_weight``, ``inclusion_prob``, ``stratum``) and its
manifest's design: :func:`recognise` the design, then Horvitz–Thompson totals, Hájek means and
proportions, ratios and domains with linearized variances, intervals that never collapse,
nonresponse adjustment, annotator-error (Rogan–Gladen) adjustment, calibration, model-assisted
(GREG / PPI++ with a prediction for every unit) estimation, representation
metrics and sample-size planning.
"""

from .calibration import calibrate, calibrate_linear
from .estimators import Estimate, hajek_mean, ht_total, ratio
from .intervals import (
    count_interval,
    korn_graubard,
    one_sided_bound,
    proportion_interval,
    t_interval,
    wilson,
)
from .misclassification import (
    Adjusted,
    ErrorRates,
    adjusted_proportion,
    annotator_rates,
    final_label_rates,
    gold_rates,
    rogan_gladen,
)
from .missingness import domain_rates, worst_case_bounds
from .model_assisted import greg, power_tuning, prediction_totals
from .nonresponse import adjust, cell_codes, respondents
from .predictions import Assist, Model, load_assist, parse_pred_cols, read_predictions
from .propensity import propensity_adjust
from .survey_design import SurveyDesign, recognise
from .tidy import COLUMNS, estimate_table
from .two_phase import TwoPhaseDesign, calibrate_phase2, two_phase_design

__all__ = [
    "COLUMNS", "Adjusted", "ErrorRates", "Estimate", "SurveyDesign", "adjust",
    "adjusted_proportion", "annotator_rates", "calibrate", "calibrate_linear", "cell_codes",
    "count_interval", "domain_rates", "estimate_table", "final_label_rates", "gold_rates",
    "greg", "hajek_mean", "ht_total", "korn_graubard", "one_sided_bound", "power_tuning",
    "prediction_totals", "propensity_adjust", "proportion_interval", "ratio", "recognise",
    "respondents", "rogan_gladen", "t_interval", "wilson",
    "worst_case_bounds",
    "Assist", "Model", "TwoPhaseDesign", "calibrate_phase2", "load_assist", "parse_pred_cols",
    "read_predictions", "two_phase_design",
]
