namespace Pipeline.Deployments;

// Inputs and outputs of the fan-out: ids, cursors and counts only, so that a generation's history
// stays a few events whatever the fleet's size.

/// <summary>
/// A fan-out for one node service: every instance (<see cref="InstanceIds"/> null, paged by
/// <see cref="Cursor"/>) or the few named ones (an instance added, selectors set, a window moved).
/// </summary>
public sealed record FanOutRequest(
    string NodeServiceId,
    string CustomerId,
    string Reason,
    IReadOnlyList<string>? InstanceIds = null,
    string? Cursor = null,
    FanOutTotals? Totals = null);

/// <summary>What a fan-out did so far: pages read and messages sent, moved, withdrawn; instances skipped.</summary>
public sealed record FanOutTotals(int Pages, int Sent, int Moved, int Withdrawn, int Skipped)
{
    public static readonly FanOutTotals None = new(0, 0, 0, 0, 0);

    public FanOutTotals Add(FanOutPageResult page) =>
        new(Pages + 1, Sent + page.Sent, Moved + page.Moved, Withdrawn + page.Withdrawn, Skipped + page.Skipped);
}

/// <summary>One page of a fan-out: at most <see cref="FanOutPageActivity.PageSize"/> instances.</summary>
public sealed record FanOutPageInput(string NodeServiceId, string CustomerId, IReadOnlyList<string>? InstanceIds, string? Cursor);

/// <summary>What a page did, and where the next page starts (null: this was the last).</summary>
public sealed record FanOutPageResult(string? NextCursor, int Sent, int Moved, int Withdrawn, int Skipped);
