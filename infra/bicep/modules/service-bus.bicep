// Service Bus for deployment messages: one message per instance and version on topic
// `deployments`, MessageId `{instance_id}:{container_version}[:{n}]`, SessionId = device_id.
// Standard tier: topics, sessions and duplicate detection are not available on Basic.
// Local (SAS) authentication is disabled: the app sends with its managed identity, and receivers
// authenticate with Entra ID too, so no key or connection string exists that could leak.

@description('Region of the namespace.')
param location string

@description('Tags applied to the namespace.')
param tags object

@description('Namespace name (6-50 characters, globally unique: the first label of the namespace host name).')
@minLength(6)
@maxLength(50)
param name string

@description('Topic the app publishes deployment messages to (fixed by the public contract).')
param topicName string = 'deployments'

@description('Name of the example subscription that receives every deployment message in device sessions.')
param devicesSubscriptionName string = 'devices'

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    // Gateways and devices receive over the internet; Entra ID guards every call.
    publicNetworkAccess: 'Enabled'
  }
}

resource topic 'Microsoft.ServiceBus/namespaces/topics@2024-01-01' = {
  parent: namespace
  name: topicName
  properties: {
    // A fan-out activity that fails after sending (a crash, a lost lease) is retried by the durable
    // retry policy and sends the same messages again with the same MessageId, within hours at most.
    // A day of history drops every such resend; a deliberate move back to a version carries a new
    // MessageId (`:{n}`), so it is never taken for one.
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'P1D'
    // Messages of one device (one session) arrive in the order the fan-out sent them.
    supportOrdering: true
    // A message only wakes a device early; a device offline longer than this reads
    // GET /api/devices/{id}/target when it is back, so an older message has nothing left to tell.
    defaultMessageTimeToLive: 'P14D'
    // Unread messages of every subscription count against this size; when it is full, sends fail.
    // A subscription nobody drains keeps its messages until they expire: delete such subscriptions.
    maxSizeInMegabytes: 1024
    enableBatchedOperations: true
  }
}

// Sessions are a property of subscriptions, not of the topic. This one receives every message,
// so a consumer accepts one session per device (SessionId = device_id) and sees that device's
// messages in order. Device gateways create their own subscriptions next to it, e.g. one per
// customer with a SQL filter on the application property customer_id, also with sessions.
resource devicesSubscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2024-01-01' = {
  parent: topic
  name: devicesSubscriptionName
  properties: {
    requiresSession: true
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    // An expired deployment message is obsolete (the target endpoint has the current state):
    // dead-lettering it would only fill the topic's quota.
    deadLetteringOnMessageExpiration: false
  }
}

output name string = namespace.name
output id string = namespace.id
// `https://<name>.servicebus.windows.net:443/` -> `<name>.servicebus.windows.net`, the value the
// SDK takes as fully qualified namespace; read from the resource, so other clouds get their suffix.
output fullyQualifiedNamespace string = split(split(namespace.properties.serviceBusEndpoint, '/')[2], ':')[0]
output topicName string = topic.name
output devicesSubscriptionName string = devicesSubscription.name
