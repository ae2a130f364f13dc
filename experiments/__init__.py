"""What a search and its results share: the task registry and the experiment folder.

Modules: ``tasks`` (the two tasks: metric, space, data, defaults), ``storage`` (local folders and
storage URIs, their files and who may write them), ``settings`` (the search's settings file),
``study`` (the Optuna study kept in the experiment), ``trials`` (reading Ray Tune's state back:
the ResultGrid and each trial's status) and ``ray_adapter`` (the one private read of Ray).
Below ``search`` and ``results``; it imports neither. Nothing is imported here.
"""
