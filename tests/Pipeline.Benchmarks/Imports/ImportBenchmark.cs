namespace Pipeline.Benchmarks.Imports;

/// <summary>Import through LocalHost into Azurite, next to the registry-side and storage-side limits.</summary>
public static class ImportBenchmark
{
    public static Task<int> RunAsync(string[] args)
    {
        Console.Error.WriteLine("import benchmark: not written yet");
        return Task.FromResult(1);
    }
}
