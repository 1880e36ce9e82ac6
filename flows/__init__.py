"""Prefect flows. They only compose library stages; tasks pass paths, table names and snapshot ids."""
