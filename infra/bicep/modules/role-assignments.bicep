// Data-plane roles of the app's identity, each scoped to the one resource it is needed on.
// No control-plane roles (Owner, Contributor) and no "Data Owner" roles.

@description('Principal (object) id of the app identity.')
param principalId string

@description('Name of the storage account the app uses.')
param storageAccountName string

@description('Name of the Application Insights component the app sends telemetry to.')
param applicationInsightsName string

@description('Name of the Key Vault holding registry credentials.')
param keyVaultName string

@description('Name of the Service Bus namespace holding the deployments topic.')
param serviceBusNamespaceName string

@description('Name of the topic the app publishes deployment messages to.')
param serviceBusTopicName string

// Built-in role definition ids (stable across tenants).
var roles = {
  // Snapshot blobs, durable task hub blobs, the deployment package.
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  // Get User Delegation Key, which signs the devices' download SAS URLs. Blob Data Contributor
  // carries this action too; the explicit assignment keeps the need visible and survives a later
  // narrowing of the data role.
  storageBlobDelegator: 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a'
  // Durable task hub queues.
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  // The catalog tables and the durable task hub tables.
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  // Entra-authenticated telemetry ingestion (local auth is disabled on the component).
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  // Registry credentials: the app sets and reads secrets, nothing else in the vault.
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  // Deployment messages: send (and schedule) on the one topic; no receive, no management.
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
}

var storageRoles = [
  roles.storageBlobDataContributor
  roles.storageBlobDelegator
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

resource storageAccount 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource storageRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in storageRoles: {
    name: guid(storageAccount.id, principalId, roleId)
    scope: storageAccount
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    }
  }
]

resource telemetryRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, principalId, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

resource keyVault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName
}

resource secretsRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, principalId, roles.keyVaultSecretsOfficer)
  scope: keyVault
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
  }
}

resource serviceBusNamespace 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusNamespaceName
}

resource deploymentsTopic 'Microsoft.ServiceBus/namespaces/topics@2024-01-01' existing = {
  parent: serviceBusNamespace
  name: serviceBusTopicName
}

// On the topic, not the namespace: the app can send nowhere else, even to topics or queues added
// to the namespace later.
resource topicSenderRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deploymentsTopic.id, principalId, roles.serviceBusDataSender)
  scope: deploymentsTopic
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
  }
}
