from netwatch.launch import entry

entry()
