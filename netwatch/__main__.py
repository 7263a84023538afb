from netwatch.cli import entry

entry()
