"""`python -m search.superres`: tune the SuperResCNN x2 upscaler (metric: val_psnr)."""

from search.cli import main_for

if __name__ == "__main__":
    main_for("superres")
