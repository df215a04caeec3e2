"""MockTraceMind: a local, offline dashboard for smoltrace runs (`smoltrace-view`).

It reads only the published data schema (smoltrace_dataset_structure.md) from local run folders,
the bundled samples, or the Hub, so it never depends on smoltrace internals.
"""
