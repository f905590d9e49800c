"""mlayer's benchmark suite (`make bench`, `python -m bench`).

Every number goes through mlayer's own pieces: the real deps layer (built by
`build_deps_layer`), the real model layer, the real handler, run in the local Lambda runtime
(`mlayer.runtime.environment.ExecutionEnvironment`) with the same isolation, memory and CPU
settings as `mlayer replay`. Timings are medians over repeated runs, and every comparison is a
ratio of two numbers measured in the same run.
"""
