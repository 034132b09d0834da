using Pipeline.Benchmarks.Api;
using Pipeline.Benchmarks.Chunking;
using Pipeline.Benchmarks.Deltas;
using Pipeline.Benchmarks.Deployments;
using Pipeline.Benchmarks.Devices;
using Pipeline.Benchmarks.Imports;
using Pipeline.Benchmarks.Registry;

// Console benchmarks: each prints its figures as ratios against a peer measured in the same run
// on the same data (skopeo copy, a plain SDK upload, a plan's own storage reads); a target, where
// one is set (the plan's p99), is printed beside the ratio, never instead of it.
string which = args.Length > 0 ? args[0] : "";
string[] rest = args.Skip(1).ToArray();
return which switch
{
    "registry" => await RegistryPullBenchmark.RunAsync(rest),
    "import" => await ImportBenchmark.RunAsync(rest),
    "plan" => await PlanBenchmark.RunAsync(rest),
    "fanout" => await FanOutBenchmark.RunAsync(rest),
    "limits" => await LimitsBenchmark.RunAsync(rest),
    "agent" => await AgentResumeBenchmark.RunAsync(rest),
    "chunking" => await ChunkingBenchmark.RunAsync(rest),
    "deltas" => await DeltaBenchmark.RunAsync(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Pipeline.Benchmarks registry|import|plan|fanout|limits|agent|chunking|deltas [options]");
    return 2;
}
