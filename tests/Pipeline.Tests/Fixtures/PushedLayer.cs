using Pipeline.Oci;

namespace Pipeline.Tests.Fixtures;

/// <summary>A layer descriptor of a pushed test image, as written in its manifest.</summary>
public sealed record PushedLayer(Digest Digest, long Size, string MediaType);
