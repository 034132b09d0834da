using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Pipeline.Oci;

namespace Pipeline.Registry;

/// <summary>
/// The body of one blob download that survives dropped and stalled connections (TEST-MATRIX rows
/// 10-12): when a read fails after <c>N</c> bytes, the blob is requested again with
/// <c>Range: bytes=N-</c> (RFC 9110 §14) and the new body is used only if the registry answers 206
/// with exactly <c>bytes N-(size-1)/size</c>. Any other answer restarts from byte zero: the first
/// <c>N</c> bytes of the new body are read again and must hash to what was already delivered, so
/// bytes from two different bodies are never spliced together. Attempts without a byte of progress
/// are bounded (<see cref="RegistryOptions.BlobResumeAttempts"/>), then <c>REGISTRY_UNREACHABLE</c>.
/// Size and digest are checked by the <see cref="VerifyingStream"/> around this stream.
/// </summary>
internal sealed class ResumableBlobStream : ForwardReadStream
{
    /// <summary>Sends the blob GET again (through authentication and redirects), from an offset when given.</summary>
    public delegate Task<HttpResponseMessage> Reopen(long? rangeFrom, CancellationToken cancellationToken);

    private const int SkipBufferBytes = 1 << 20;

    private readonly Reopen _reopen;
    private readonly Descriptor _blob;
    private readonly ImageReference _repository;
    private readonly RegistryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private HttpResponseMessage? _response;
    private Stream? _body;
    private CancellationTokenSource _stall = new();
    private long _position;
    private long _positionAtLastFailure = -1;
    private int _attemptsWithoutProgress;
    private bool _disposed;

    public ResumableBlobStream(
        HttpResponseMessage response, Stream body, Descriptor blob, ImageReference repository, Reopen reopen,
        RegistryOptions options, TimeProvider time, ILogger logger)
    {
        _response = response;
        _body = body;
        _blob = blob;
        _repository = repository;
        _reopen = reopen;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>The sha256 of the bytes already delivered to the reader; set by the owner of the verifying stream.</summary>
    public Func<byte[]>? DeliveredHash { get; set; }

    public override bool CanRead => !_disposed;
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty)
        {
            return 0;
        }
        while (true)
        {
            if (_body is null)
            {
                if (!await ReconnectAsync(cancellationToken).ConfigureAwait(false))
                {
                    continue;
                }
            }
            var (n, failure) = await TryReadAsync(_body!, buffer, cancellationToken).ConfigureAwait(false);
            if (failure is null)
            {
                // A clean end before the descriptor's size is the registry's statement that the blob is
                // shorter: the verifying stream reports it. Only broken connections are resumed.
                _position += n;
                return n;
            }
            await FailedAsync(failure.Value.Why, failure.Value.Error, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One read with the stall timeout; a broken or stalled connection is returned as a failure, not thrown.</summary>
    private async ValueTask<(int Read, (string Why, Exception Error)? Failure)> TryReadAsync(Stream body, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            _stall.CancelAfter(_options.BlobReadTimeout);
            int n;
            // The caller's token cancels the same source, so each read needs no linked token source.
            using (cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), _stall))
            {
                n = await body.ReadAsync(buffer, _stall.Token).ConfigureAwait(false);
            }
            if (!_stall.TryReset())
            {
                NewStallTimer(); // it fired just as the read completed: the bytes are good, the timer is spent
            }
            return (n, null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException ex)
        {
            NewStallTimer();
            return (0, ($"no data for {_options.BlobReadTimeout.TotalSeconds:0.###} s", ex));
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            return (0, (ex.Message, ex));
        }
    }

    /// <summary>Gets a body positioned at <see cref="_position"/>; false when that attempt failed too (already counted).</summary>
    private async Task<bool> ReconnectAsync(CancellationToken cancellationToken)
    {
        long from = _position;
        HttpResponseMessage response;
        try
        {
            response = await _reopen(from > 0 ? from : null, cancellationToken).ConfigureAwait(false);
        }
        catch (PipelineException ex) when (ex.Code == ErrorCodes.RegistryUnreachable)
        {
            await FailedAsync(ex.Detail, ex, cancellationToken).ConfigureAwait(false);
            return false;
        }

        try
        {
            if (from > 0 && response.StatusCode == HttpStatusCode.PartialContent)
            {
                if (IsExactRange(response, from))
                {
                    _logger.BlobReconnected(_repository.Registry, _repository.Repository, _blob.Digest.ToString(), "resumed with an exact 206", from);
                    return await AdoptAsync(response, cancellationToken).ConfigureAwait(false);
                }
                // A range other than the one asked for: never splice it in, start again from zero.
                response.Dispose();
                response = await _reopen(null, cancellationToken).ConfigureAwait(false);
            }
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw RegistryClient.StatusError(response.StatusCode, _repository, $"blob {_blob.Digest}");
            }
            if (response.Content.Headers.ContentLength is long declared && declared != _blob.Size)
            {
                throw new DigestMismatchException(
                    $"Blob {_blob.Digest} of {_repository.Registry}/{_repository.Repository} does not match its descriptor: on a new request the registry announced {declared} bytes, the descriptor says {_blob.Size}.");
            }
            if (from > 0)
            {
                _logger.BlobReconnected(_repository.Registry, _repository.Repository, _blob.Digest.ToString(), "restarted from zero (no exact 206)", from);
            }
            if (!await AdoptAsync(response, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
            return from == 0 || await SkipVerifiedPrefixAsync(from, cancellationToken).ConfigureAwait(false);
        }
        catch (PipelineException ex) when (ex.Code == ErrorCodes.RegistryUnreachable)
        {
            response.Dispose();
            await FailedAsync(ex.Detail, ex, cancellationToken).ConfigureAwait(false);
            return false;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private async Task<bool> AdoptAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        Stream body;
        try
        {
            body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            response.Dispose();
            await FailedAsync(ex.Message, ex, cancellationToken).ConfigureAwait(false);
            return false;
        }
        _response = response;
        _body = body;
        return true;
    }

    /// <summary>Reads the first <paramref name="count"/> bytes of a restarted body and checks they are the bytes already delivered.</summary>
    private async Task<bool> SkipVerifiedPrefixAsync(long count, CancellationToken cancellationToken)
    {
        var expected = DeliveredHash?.Invoke() ?? throw new InvalidOperationException("DeliveredHash is not set.");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(SkipBufferBytes);
        try
        {
            for (long left = count; left > 0;)
            {
                var (n, failure) = await TryReadAsync(_body!, buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false);
                if (failure is not null || n == 0)
                {
                    await FailedAsync(failure?.Why ?? "the restarted body ended early", failure?.Error, cancellationToken).ConfigureAwait(false);
                    return false;
                }
                hash.AppendData(buffer, 0, n);
                left -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        if (!CryptographicOperations.FixedTimeEquals(hash.GetHashAndReset(), expected))
        {
            throw new DigestMismatchException(
                $"Blob {_blob.Digest} of {_repository.Registry}/{_repository.Repository} changed while it was downloaded: after a restart its first {count} bytes differ from those already received.");
        }
        return true;
    }

    private bool IsExactRange(HttpResponseMessage response, long from)
    {
        var range = response.Content.Headers.ContentRange;
        return range is { HasRange: true } &&
            string.Equals(range.Unit, "bytes", StringComparison.OrdinalIgnoreCase) &&
            range.From == from &&
            range.To == _blob.Size - 1 &&
            (range.Length is null || range.Length == _blob.Size) &&
            (response.Content.Headers.ContentLength is null || response.Content.Headers.ContentLength == _blob.Size - from);
    }

    private async Task FailedAsync(string why, Exception? error, CancellationToken cancellationToken)
    {
        DisposeBody();
        if (_position > _positionAtLastFailure)
        {
            _positionAtLastFailure = _position;
            _attemptsWithoutProgress = 0;
        }
        _attemptsWithoutProgress++;
        _logger.BlobBroken(_repository.Registry, _repository.Repository, _blob.Digest.ToString(), _position, _blob.Size, _attemptsWithoutProgress, why);
        if (_attemptsWithoutProgress > _options.BlobResumeAttempts)
        {
            throw new PipelineException(
                ErrorCodes.RegistryUnreachable,
                $"The download of blob {_blob.Digest} from {_repository.Registry}/{_repository.Repository} broke off {_attemptsWithoutProgress} times at byte {_position} of {_blob.Size} without progress (last: {why}).",
                error);
        }
        await Task.Delay(_options.BlobResumeDelay * _attemptsWithoutProgress, _time, cancellationToken).ConfigureAwait(false);
    }

    private void NewStallTimer()
    {
        _stall.Dispose();
        _stall = new CancellationTokenSource();
    }

    private void DisposeBody()
    {
        _body?.Dispose();
        _body = null;
        _response?.Dispose();
        _response = null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            DisposeBody();
            _stall.Dispose();
        }
        base.Dispose(disposing);
    }
}
