using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Pipeline.Oci;

namespace Pipeline.Tests.Fixtures;

/// <summary>
/// Downloads from plan URLs as a device does: plain GETs, a link that breaks part way, and a
/// resume with <c>Range</c> that must answer exactly 206 with the matching <c>Content-Range</c>.
/// </summary>
public static class BlobUrlDownloads
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(2) };

    /// <summary>GET of the whole URL: the status and, when 200, the bytes.</summary>
    public static async Task<(HttpStatusCode Status, byte[] Bytes)> GetAsync(string url)
    {
        using var response = await Http.GetAsync(url);
        return (response.StatusCode, response.IsSuccessStatusCode ? await response.Content.ReadAsByteArrayAsync() : []);
    }

    /// <summary>
    /// Reads the first <paramref name="cutAt"/> bytes and drops the connection (a broken link),
    /// then asks for the rest with <c>Range: bytes=cutAt-</c>; returns the joined bytes.
    /// </summary>
    public static async Task<byte[]> DownloadCutAndResumeAsync(string url, long size, long cutAt)
    {
        var head = new byte[cutAt];
        using (var response = await Http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var body = await response.Content.ReadAsStreamAsync();
            await body.ReadExactlyAsync(head);
            // Disposing the response mid-body closes the connection: the rest never arrives.
        }

        using var resume = new HttpRequestMessage(HttpMethod.Get, url);
        resume.Headers.Range = new RangeHeaderValue(cutAt, null);
        using var rest = await Http.SendAsync(resume);
        Assert.Equal(HttpStatusCode.PartialContent, rest.StatusCode);
        var range = rest.Content.Headers.ContentRange;
        Assert.Equal((cutAt, size - 1, size), (range?.From, range?.To, range?.Length));
        byte[] tail = await rest.Content.ReadAsByteArrayAsync();
        Assert.Equal(size - cutAt, tail.Length);
        return [.. head, .. tail];
    }

    public static Digest Hash(byte[] bytes) => Digest.FromHash(SHA256.HashData(bytes));
}
