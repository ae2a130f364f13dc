"""`python -m search.classify`: tune InceptionResNetV2 lens classification (metric: val_auc)."""

from lens_search.search.cli import main_for


def cli() -> None:
    """Console script ``lens-search-classify`` (same as ``python -m search.classify``)."""
    main_for("classify")


if __name__ == "__main__":
    cli()
