using GraphQL.Types;

namespace Pipeline.Api.GraphQL.Fleet;

/// <summary>API.md <c>input VersionTargetSelectorInput { value: String }</c>: null latest, "version:N", "disabled".</summary>
public sealed class VersionTargetSelectorInputGraphType : InputObjectGraphType
{
    public VersionTargetSelectorInputGraphType()
    {
        Name = "VersionTargetSelectorInput";
        Field<StringGraphType>("value");
    }
}
