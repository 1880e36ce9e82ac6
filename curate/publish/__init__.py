"""Publishing a release: its facts, dataset card, plots, HTML report and the Hub upload."""
