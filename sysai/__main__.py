from sysai.cli import entry

entry()
