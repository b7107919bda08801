"""The command line (main.py assembles one module per group of commands) and who may open the app
(access.py)."""
