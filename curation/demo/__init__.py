"""``curate demo``: the whole flow on synthetic data with SIMULATED annotators.

``data`` makes the synthetic catalogue, recommendation log and hidden truth; ``annotators``
are the simulated annotators and expert (named as such everywhere); ``run`` drives the audit
repository's pipeline (``pipeline/dvc.yaml`` and ``pipeline/params.yaml``, packaged here).
"""
