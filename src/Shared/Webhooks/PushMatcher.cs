using Pipeline.Oci;
using Pipeline.Snapshots;

namespace Pipeline.Webhooks;

/// <summary>
/// Whether a push concerns an image source (API.md "Registry webhooks"): the source's reference,
/// normalised, has the push's registry host, repository and tag. The host is the payload's own
/// when it names one, else the webhook's registry. A push without a tag (by digest alone) matches
/// nothing, and neither does a source pinned to a digest: neither can mean "this tag moved".
/// </summary>
public static class PushMatcher
{
    /// <summary>The push as a normalised reference, or null when it cannot match anything.</summary>
    public static ImageReference? Normalise(RegistryPush push, string? webhookRegistry)
    {
        string? host = string.IsNullOrWhiteSpace(push.Host) ? webhookRegistry : push.Host;
        if (push.Tag is null || string.IsNullOrWhiteSpace(host))
        {
            return null;
        }
        try
        {
            return ImageReference.Parse($"{host.Trim().ToLowerInvariant()}/{push.Repository}:{push.Tag}");
        }
        catch (PipelineException)
        {
            return null;
        }
    }

    /// <summary>Whether <paramref name="source"/> (an image source's reference as imported) follows the pushed tag.</summary>
    public static bool Matches(string source, ImageReference pushed)
    {
        try
        {
            var reference = ImageReference.Parse(source);
            return reference.Digest is null
                && reference.Registry == pushed.Registry
                && reference.Repository == pushed.Repository
                && (reference.Tag ?? "latest") == pushed.Tag;
        }
        catch (PipelineException)
        {
            return false;
        }
    }

    /// <summary>The pushed references that some architecture of <paramref name="version"/> imports from.</summary>
    public static IReadOnlyList<ImageReference> Matching(SnapshotRecord version, IEnumerable<ImageReference> pushed) =>
        pushed.Where(p => version.Architectures.Any(a => Matches(a.ImageReference, p))).ToList();
}
