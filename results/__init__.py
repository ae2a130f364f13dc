"""What comes out of a search: ``python -m results.leaderboard | retrain | plots | predict``.

Modules: ``leaderboard``, ``select`` (the k-th trial's config), ``retrain``, ``evaluate``,
``figures``, ``export`` (safe-mode ``.keras`` files), ``plots``, ``importance``, ``predict``,
``outputs`` (all-or-nothing folders). Experiments are read with ``experiments.trials``.
Nothing is imported here, so ``results.leaderboard`` starts without loading Keras.
"""
