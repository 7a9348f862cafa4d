"""MLflow on a Runyard workspace: what ``ws.get_mlflow_tracking_uri()`` points MLflow at.

The cloud's ``azureml-mlflow`` package lets MLflow's own API write to a workspace::

    mlflow.set_tracking_uri(ws.get_mlflow_tracking_uri())
    mlflow.set_experiment("diabetes")
    with mlflow.start_run():
        mlflow.log_param("alpha", 0.03)
        mlflow.log_metric("mse", 3424.3)
        mlflow.sklearn.log_model(model, "model")

Here the URI is ``runyard:<path of the workspace's config.json>`` and MLflow finds the
store behind it through the ``mlflow.tracking_store`` entry point Runyard installs
(:class:`runyard.mlflow.store.RunyardMlflowStore`): MLflow experiments are the
workspace's experiments, MLflow runs its runs (metrics, params as properties, tags,
files), and logged models are folders of their run's files. Inside a submitted run the
runner sets ``MLFLOW_TRACKING_URI=runyard:``, and the script's first top-level
``mlflow.start_run()`` is the run itself: its metrics go through the run's journal, as
``run.log``.

Every module here imports MLflow (the ``mlflow`` extra: ``pip install 'runyard[mlflow]'``);
the URIs are built in ``runyard.workspace.mlflow_uri``, which needs none.
"""
