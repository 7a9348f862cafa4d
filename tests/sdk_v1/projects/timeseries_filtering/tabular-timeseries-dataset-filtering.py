# The code cells of work-with-data/datasets-tutorial/timeseries-datasets/
# tabular-timeseries-dataset-filtering.ipynb (Azure/MachineLearningNotebooks), joined,
# with azureml -> runyard. The notebook's weather-data/ folder (monthly parquet files) is
# written by the test beside this script, with the notebook's columns.

import runyard.core
runyard.data.__version__

# import packages
from datetime import datetime, timedelta

from runyard.core import Dataset, Workspace

ws = Workspace.from_config()
dstore = ws.get_default_datastore()

dset_name = 'weather-data-florida'

print(ws.name, ws.resource_group, ws.location, ws.subscription_id, dstore.name, sep = '\n')

dstore.upload('weather-data', dset_name, overwrite=True, show_progress=True)

datastore_path = [(dstore, dset_name + '/*/*/data.parquet')]
dataset        = Dataset.Tabular.from_parquet_files(path=datastore_path, partition_format = dset_name + '/{partition_time:yyyy/MM}/data.parquet')

tsd = dataset.with_timestamp_columns(timestamp='datetime', partition_timestamp='partition_time')

# register dataset to Workspace
registered_ds = tsd.register(ws, dset_name, create_new_version=True, description='Data for Tabular Dataset with time-series trait demo.', tags={ 'type': 'TabularDataset' })

# get dataset by dataset name
tsd = Dataset.get_by_name(ws, name=dset_name)
tsd.to_pandas_dataframe().head(5)

# select data that occurs before a specified date
tsd2 = tsd.time_before(datetime(2019, 6, 12))
tsd2.to_pandas_dataframe().tail(5)

# select data that occurs after a specified date
tsd2 = tsd.time_after(datetime(2019, 5, 30))
tsd2.to_pandas_dataframe().head(5)

# select data that occurs within a given time range
tsd2 = tsd.time_after(datetime(2019, 1, 1)).time_before(datetime(2019, 1, 10))
tsd2.to_pandas_dataframe().head(5)

# another way to select data that occurs within a given time range
tsd2 = tsd.time_between(start_time=datetime(2019, 1, 31, 23, 59, 59), end_time=datetime(2019, 2, 7))
tsd2.to_pandas_dataframe().head(5)

tsd2 = tsd.time_recent(timedelta(days=2))
tsd2.to_pandas_dataframe().tail(5)

tsd2 = tsd.drop_columns(columns=['snowDepth', 'version', 'datetime'])
tsd2.take(5).to_pandas_dataframe()

from runyard.exceptions import DatasetTimestampMissingError

try:
    tsd2.time_before(datetime(2019, 6, 12)).to_pandas_dataframe().tail(5)
except DatasetTimestampMissingError as e:
    print('Expected exception : {}'.format(str(e)))

tsd2 = tsd.drop_columns(columns=['snowDepth', 'version', 'upload_date'])
tsd2.take(5).to_pandas_dataframe()

tsd2.time_before(datetime(2019, 6, 12)).to_pandas_dataframe().tail(5)

tsd2 = tsd.keep_columns(columns=['snowDepth'], validate=False)
tsd2.to_pandas_dataframe().tail()

try:
    tsd2.time_before(datetime(2019, 6, 12)).to_pandas_dataframe().tail(5)
except DatasetTimestampMissingError as e:
    print('Expected exception : {}'.format(str(e)))

tsd2 = tsd.keep_columns(columns=['snowDepth', 'datetime', 'partition_time'], validate=False)
tsd2.to_pandas_dataframe().tail()

tsd2.time_before(datetime(2019, 6, 12)).to_pandas_dataframe().tail(5)

from runyard.exceptions import UserErrorException
# Illegal clearing, exception is expected.
try:
    tsd2 = tsd.with_timestamp_columns(timestamp=None, partition_timestamp='partition_time')
except UserErrorException as e:
    print('Cleaning not allowed because {}'.format(str(e)))

# clear both
tsd2 = tsd.with_timestamp_columns(timestamp=None, partition_timestamp=None)
print('after clean both with None/None, timestamp columns are: {}'.format(tsd2.timestamp_columns))

# clear partition_timestamp only and assign 'datetime' as timestamp column
tsd2 = tsd2.with_timestamp_columns(timestamp='datetime', partition_timestamp=None)
print('after clean partition timestamp column, timestamp columns are: {}'.format(tsd2.timestamp_columns))

