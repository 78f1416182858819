"""Small generated demo datasets, used when an experiment runs without ``--data``.

Every output made from them says so ("generated demo data"); they exist so that each experiment
runs end to end on a fresh machine with no download.
"""
