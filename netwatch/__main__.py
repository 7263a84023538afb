from netwatch.cli.launch import entry

entry()
