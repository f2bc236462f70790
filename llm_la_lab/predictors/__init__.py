"""Output-length predictors, one file each, found by name through :data:`llm_la_lab.predictors.base.PREDICTORS`."""
