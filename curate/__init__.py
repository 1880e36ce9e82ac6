"""curate: preference-data curation for reward-model training.

Stages are plain functions over a DuckLake warehouse, ``run(wh, cfg) ->
StageResult``; Prefect flows in ``flows/`` only compose them.
"""

__version__ = "0.1.0"
