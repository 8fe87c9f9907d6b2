# The notebook here is rendered by tests/test_browser.py in a real browser; nbval must not
# collect it as a tutorial.
collect_ignore_glob = ["*.ipynb"]
