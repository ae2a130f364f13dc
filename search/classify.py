"""`python -m search.classify`: tune InceptionResNetV2 lens classification (metric: val_auc)."""

from search.cli import main_for

if __name__ == "__main__":
    main_for("classify")
