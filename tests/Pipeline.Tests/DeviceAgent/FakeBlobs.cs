using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// Blobs served the way the plan's URLs serve them (whole with 200, or from <c>Range: bytes=N-</c>
/// or <c>bytes=N-M</c> with 206 and <c>Content-Range</c>), with the faults of <see cref="BlobFault"/>
/// (offsets are the blob's), counting every body byte it writes per blob: the bytes a device
/// really pulled over the link.
/// </summary>
public sealed partial class FakeBlobs
{
    private const int ChunkBytes = 16 * 1024;

    private readonly ConcurrentDictionary<string, byte[]> _blobs = new();
    private readonly ConcurrentDictionary<string, long> _sent = new();
    private readonly ConcurrentDictionary<string, int> _requests = new();
    private readonly ConcurrentDictionary<string, BlobFault> _faults = new();
    private readonly ConcurrentDictionary<string, int> _faultsUsed = new();

    /// <summary>Adds a blob; returns its digest (<c>sha256:…</c>).</summary>
    public string Add(byte[] bytes)
    {
        string hex = Convert.ToHexStringLower(SHA256.HashData(bytes));
        _blobs[hex] = bytes;
        return "sha256:" + hex;
    }

    public byte[] Bytes(string digest) => _blobs[Hex(digest)];

    public void Fault(string digest, BlobFault fault)
    {
        _faults[Hex(digest)] = fault;
        _faultsUsed.Clear();
    }

    /// <summary>Body bytes written for <paramref name="digest"/> so far, all requests together.</summary>
    public long SentBytes(string digest) => _sent.GetValueOrDefault(Hex(digest));

    public int Requests(string digest) => _requests.GetValueOrDefault(Hex(digest));

    public async Task ServeAsync(HttpContext http, string hex)
    {
        _requests.AddOrUpdate(hex, 1, (_, n) => n + 1);
        if (!_blobs.TryGetValue(hex, out var bytes))
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        var fault = _faults.GetValueOrDefault(hex) ?? new BlobFault();
        if (Use(hex, "403", fault.ForbiddenTimes))
        {
            http.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }
        long start = 0;
        long end = bytes.Length;
        string? range = http.Request.Headers.Range;
        if (range is not null && !fault.IgnoreRange)
        {
            var m = RangeRegex().Match(range);
            Assert.True(m.Success, $"unexpected Range header {range}");
            start = long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            if (m.Groups[2].Value.Length > 0)
            {
                end = Math.Min(end, long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) + 1);
            }
            if (start >= bytes.Length || end <= start)
            {
                http.Response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                http.Response.Headers.ContentRange = $"bytes */{bytes.Length}";
                return;
            }
            http.Response.StatusCode = StatusCodes.Status206PartialContent;
            long shownStart = Use(hex, "wrong-range", fault.WrongContentRangeTimes) ? start + 1 : start;
            http.Response.Headers.ContentRange = $"bytes {shownStart}-{end - 1}/{bytes.Length}";
        }
        http.Response.ContentLength = end - start;
        http.Response.ContentType = "application/octet-stream";
        await http.Response.StartAsync();

        if (fault.StallAt is { } stallAt && stallAt <= start)
        {
            // Stalled where the device resumes: headers, then silence.
            await http.Response.Body.FlushAsync();
            await Task.Delay(Timeout.Infinite, http.RequestAborted).ContinueWith(_ => { });
            return;
        }
        bool drops = fault.DropAt is { } dropAt && dropAt > start && dropAt < end && Use(hex, "drop", fault.DropTimes);
        long position = start;
        while (position < end)
        {
            long next = Math.Min(end, position + ChunkBytes);
            foreach (long stop in new[] { fault.HookAt, drops ? fault.DropAt : null, fault.StallAt }.OfType<long>().Where(s => s > position && s < next))
            {
                next = Math.Min(next, stop);
            }
            await http.Response.Body.WriteAsync(bytes.AsMemory((int)position, (int)(next - position)));
            await http.Response.Body.FlushAsync();
            _sent.AddOrUpdate(hex, next - position, (_, n) => n + next - position);
            position = next;
            if (fault.HookAt == position && fault.AtOffset is { } hook && Use(hex, "hook", 1))
            {
                await hook();
            }
            if (drops && position == fault.DropAt)
            {
                // Let the bytes reach the device, then break the link as a lost carrier would.
                await Task.Delay(200);
                http.Abort();
                return;
            }
            if (fault.StallAt == position)
            {
                await Task.Delay(Timeout.Infinite, http.RequestAborted).ContinueWith(_ => { });
                return;
            }
        }
    }

    private bool Use(string hex, string kind, int times)
    {
        if (times <= 0)
        {
            return false;
        }
        return _faultsUsed.AddOrUpdate(hex + "/" + kind, 1, (_, n) => n + 1) <= times;
    }

    private static string Hex(string digest) => digest.StartsWith("sha256:", StringComparison.Ordinal) ? digest[7..] : digest;

    [GeneratedRegex(@"^bytes=(\d+)-(\d*)$")]
    private static partial Regex RangeRegex();
}
