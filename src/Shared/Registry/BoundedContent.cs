namespace Pipeline.Registry;

/// <summary>
/// Reads a response body into memory only up to a cap (CONVENTIONS.md "Verify while streaming":
/// manifests and configs 4 MiB, token bodies 1 MiB): at most cap + 1 bytes are ever read.
/// </summary>
internal static class BoundedContent
{
    public const int ManifestMaxBytes = 4 * 1024 * 1024;
    public const int TokenMaxBytes = 1024 * 1024;

    /// <summary>The body, or <paramref name="tooLarge"/> as soon as it is known to exceed <paramref name="maxBytes"/>.</summary>
    public static async Task<byte[]> ReadAsync(
        HttpResponseMessage response, int maxBytes, Func<PipelineException> tooLarge, string source, CancellationToken cancellationToken)
    {
        long? declared = response.Content.Headers.ContentLength;
        if (declared > maxBytes)
        {
            throw tooLarge();
        }
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            return await ReadAsync(stream, maxBytes, (int)(declared ?? 16 * 1024), tooLarge, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw new PipelineException(ErrorCodes.RegistryUnreachable, $"The connection to {source} broke while reading its answer.", ex);
        }
    }

    /// <summary>Reads <paramref name="stream"/> to its end, failing once more than <paramref name="maxBytes"/> arrive.</summary>
    public static async Task<byte[]> ReadAsync(
        Stream stream, int maxBytes, int expectedBytes, Func<PipelineException> tooLarge, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream(Math.Clamp(expectedBytes, 0, maxBytes) + 1);
        byte[] chunk = new byte[Math.Min(81920, maxBytes + 1)];
        while (true)
        {
            int want = (int)Math.Min(chunk.Length, maxBytes + 1L - buffer.Length);
            int n = await stream.ReadAsync(chunk.AsMemory(0, want), cancellationToken);
            if (n == 0)
            {
                return buffer.ToArray();
            }
            buffer.Write(chunk, 0, n);
            if (buffer.Length > maxBytes)
            {
                throw tooLarge();
            }
        }
    }
}
