// `make microbench`: BenchmarkDotNet micro-benchmarks of the per-request code of Reserve, Update and Terminate
// (docs/scaling.md, Micro-benchmarks). Arguments go to BenchmarkDotNet: `--filter '*Rating*'`, `--job short`.
using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(CommsCredits.MicroBench.SampleData).Assembly).Run(args);
