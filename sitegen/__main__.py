from sitegen.launch import entry

entry()
