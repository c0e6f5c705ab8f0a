"""``python -m mas`` is the ``mas`` command (and ``run`` the console script's entry point).

Start-up allocates a few hundred thousand long-lived objects (modules, classes, SQLAlchemy
tables, Litestar handlers) and almost no garbage, yet the cyclic collector, counting
allocations, runs some 1,000 collections over them: a quarter of the CPU from ``mas serve`` to
its first request. So the collector is off while the CLI and every domain's manifest are
imported; ``mas.cli.main.main`` freezes what was loaded (the collector never scans it again,
and forked workers do not copy its pages by touching it) and turns the collector back on before
the command runs. The HTTP worker does the same around building the app (``mas.http.app.asgi``).
"""

import gc


def run() -> None:
    gc.disable()
    from mas.cli.main import main

    main()


if __name__ == "__main__":
    run()
