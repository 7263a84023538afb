"""The command line: parsing, dispatch, the batch commands' shared loop, `record`."""
