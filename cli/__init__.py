"""The ``trading`` command line: the top layer beside web/ (the root group is cli.main).

Each module holds one command group; cli.support is what they share.
"""
