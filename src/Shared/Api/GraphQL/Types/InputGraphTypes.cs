using GraphQL.Types;

namespace Pipeline.Api.GraphQL.Types;

// Input types exactly as API.md names them. They parse to dictionaries; NodeServiceInputParser
// turns those into validated records, so every BAD_INPUT names the field at fault.

public sealed class NodeServiceInputGraphType : InputObjectGraphType
{
    public NodeServiceInputGraphType()
    {
        Name = "NodeServiceInput";
        Field<NonNullGraphType<StringGraphType>>("name");
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<ImageSourceInputGraphType>>>>("image_sources");
        Field<JsonGraphType>("env");
        Field<IntGraphType>("memory_limit_mb");
        Field<FloatGraphType>("cpu_limit");
        Field<ListGraphType<NonNullGraphType<StringGraphType>>>("device_access");
        Field<NetworkConfigInputGraphType>("network_config");
        Field<StringGraphType>("access_provided_subnet");
        Field<StringGraphType>("dhcp_range_template");
        Field<StringGraphType>("dhcp_range");
        Field<Rollouts.RolloutPolicyInputGraphType>("rollout_policy");
    }
}

public sealed class ImageSourceInputGraphType : InputObjectGraphType
{
    public ImageSourceInputGraphType()
    {
        Name = "ImageSourceInput";
        Field<NonNullGraphType<StringGraphType>>("arch");
        Field<NonNullGraphType<StringGraphType>>("image_reference");
        Field<AuthnInputGraphType>("authn");
    }
}

public sealed class AuthnInputGraphType : InputObjectGraphType
{
    public AuthnInputGraphType()
    {
        Name = "AuthnInput";
        Field<NonNullGraphType<StringGraphType>>("registry_user");
        Field<NonNullGraphType<StringGraphType>>("registry_pw");
    }
}

public sealed class NetworkConfigInputGraphType : InputObjectGraphType
{
    public NetworkConfigInputGraphType()
    {
        Name = "NetworkConfigInput";
        Field<StringGraphType>("wan_configure_network");
        Field<StringGraphType>("lan_configure_network");
        Field<BooleanGraphType>("masquerade");
    }
}
