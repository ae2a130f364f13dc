"""`python -m search.superres`: tune the SuperResCNN x2 upscaler (metric: val_psnr)."""

from lens_search.search.cli import main_for


def cli() -> None:
    """Console script ``lens-search-superres`` (same as ``python -m search.superres``)."""
    main_for("superres")


if __name__ == "__main__":
    cli()
