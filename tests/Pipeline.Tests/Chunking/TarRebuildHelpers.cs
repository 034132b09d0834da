using Pipeline.Chunking;

namespace Pipeline.Tests.Chunking;

internal static class TarRebuildHelpers
{
    /// <summary>What a headers stream rebuilds when its recorded digest is not checked: the output written before the check throws.</summary>
    public static byte[] RebuildIgnoringDigest(byte[] headers, byte[] contents)
    {
        using var output = new MemoryStream();
        try
        {
            TarRebuild.RebuildAsync(new MemoryStream(headers), new MemoryStream(contents), output).GetAwaiter().GetResult();
        }
        catch (TarRebuildException)
        {
            // Expected: the recorded digest no longer matches; the bytes were written before the check.
        }
        return output.ToArray();
    }
}
