using GraphQL.Types;

namespace Pipeline.Api.GraphQL.Fleet;

/// <summary>API.md <c>input TimeSpanInput { start: String!  end: String!  timezone: String }</c>.</summary>
public sealed class TimeSpanInputGraphType : InputObjectGraphType
{
    public TimeSpanInputGraphType()
    {
        Name = "TimeSpanInput";
        Field<NonNullGraphType<StringGraphType>>("start");
        Field<NonNullGraphType<StringGraphType>>("end");
        Field<StringGraphType>("timezone");
    }
}
