"""The `chainrule` command line."""
