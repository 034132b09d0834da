namespace Pipeline.Benchmarks.Registry;

/// <summary>Pull of a large image through the registry client, next to <c>skopeo copy</c> of the same image.</summary>
public static class RegistryPullBenchmark
{
    public static Task<int> RunAsync(string[] args)
    {
        Console.Error.WriteLine("registry benchmark: not written yet");
        return Task.FromResult(1);
    }
}
