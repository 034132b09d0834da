namespace Pipeline.Fleet.Rollout;

/// <summary>The three kinds of <see cref="VersionTargetSelector"/>.</summary>
public enum VersionTargetKind
{
    Latest,
    Pinned,
    Disabled,
}
