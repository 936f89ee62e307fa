"""The store and its sharing: runs and their SQLite store, bundles, links, "show the code", retention."""
