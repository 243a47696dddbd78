"""The local control plane and its toolchain.

Used by the CLI, the tests, `make demo` and the benchmarks; it imports
nothing else from gitward.
"""
