"""Datastores, datasets and models: the machinery under ``runyard.core.Datastore``,
``Dataset`` and ``Model``.

- :mod:`~runyard.assets.datastores`: named places for files (a folder under the
  workspace by default; ``s3://``, ``az://``) and the registry of them;
  :mod:`~runyard.assets.backends` moves bytes to and from each kind.
- :mod:`~runyard.assets.hashing`: per-file sha256 manifests, with a stat cache so an
  unchanged tree is not read twice.
- :mod:`~runyard.assets.datasets`: what a dataset definition names, its manifest,
  and how its files reach a run (the datastore's own folder, or a copy).
- :mod:`~runyard.assets.inputs`: dataset inputs of a submitted run, recorded at submit
  and resolved by the runner to local paths.
- :mod:`~runyard.assets.models`: model files in the content-addressed blob store.

The layer sits under ``core`` and beside ``runner``; it uses the store, never core.
"""
