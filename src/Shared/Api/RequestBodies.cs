using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;

namespace Pipeline.Api;

/// <summary>What every HTTP route reads the same way: bearer keys, and bodies with a size cap.</summary>
public static class RequestBodies
{
    /// <summary>
    /// The request's body, or null when it is over <paramref name="maxBytes"/> (by its
    /// Content-Length, or counted as it arrives, so an endless body costs at most the cap).
    /// </summary>
    public static async Task<ReadOnlyMemory<byte>?> ReadBoundedAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return null;
        }
        using var body = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = await request.Body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (body.Length + n > maxBytes)
            {
                return null;
            }
            body.Write(buffer, 0, n);
        }
        return body.GetBuffer().AsMemory(0, (int)body.Length);
    }

    /// <summary>The key of an <c>Authorization: Bearer &lt;key&gt;</c> header, or null.</summary>
    public static string? BearerKey(HttpRequest request) =>
        AuthenticationHeaderValue.TryParse(request.Headers.Authorization.ToString(), out var h)
        && string.Equals(h.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase)
            ? h.Parameter?.Trim()
            : null;
}
