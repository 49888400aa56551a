"""The `spacehpo` command line: one module per command group, above data, model, hpo, storage."""
