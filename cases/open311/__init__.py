"""Citizens' appeals (群众诉求): Open311 GeoReport v2 at /open311/v2/, the public appeal page and the
hotline all file an :class:`~cases.open311.models.Appeal` through ``cases.actions.appeals``, which runs
the pipeline's intake like any other report."""
