output "function_name" {
  description = "Name of the inference function."
  value       = module.mlayer.function_name
}

output "function_version" {
  description = "Newest published function version."
  value       = module.mlayer.function_version
}

output "live_function_version" {
  description = "Version the `live` alias serves (the stable share during a canary)."
  value       = module.mlayer.live_function_version
}

output "canary_function_version" {
  description = "Version receiving the canary share; null without a canary."
  value       = module.mlayer.canary_function_version
}

output "alias_arn" {
  description = "ARN of the alias the stream invokes."
  value       = module.mlayer.alias_arn
}

output "alias_routing" {
  description = "The alias's additional version weights."
  value       = module.mlayer.alias_routing
}

output "model" {
  description = "Model serving the stable share, NAME/VERSION."
  value       = module.mlayer.model
}

output "canary_model" {
  description = "Model on the canary version; null without a canary."
  value       = module.mlayer.canary_model
}

output "deps_layer_kind" {
  description = "Deps layer serving the stable share: lean or sklearn."
  value       = module.mlayer.deps_layer_kind
}

output "canary_deps_layer_kind" {
  description = "Deps layer on the canary version; null without a canary."
  value       = module.mlayer.canary_deps_layer_kind
}

output "deps_layer_version_arn" {
  description = "ARN of the scikit-learn deps layer version."
  value       = module.mlayer.deps_layer_version_arn
}

output "lean_deps_layer_version_arn" {
  description = "ARN of the lean deps layer version; null when no model needs it."
  value       = module.mlayer.lean_deps_layer_version_arn
}

output "model_layer_version_arn" {
  description = "ARN of the model layer version."
  value       = module.mlayer.model_layer_version_arn
}

output "role_arn" {
  description = "ARN of the execution role."
  value       = module.mlayer.role_arn
}

output "stream_name" {
  description = "Stream to put records into."
  value       = module.mlayer.stream_name
}

output "event_source_mapping_uuid" {
  description = "UUID of the event source mapping."
  value       = module.mlayer.event_source_mapping_uuid
}

output "failure_queue_url" {
  description = "Queue holding records of batches that failed every retry."
  value       = module.mlayer.failure_queue_url
}

output "artifact_bucket" {
  description = "Bucket holding the layer and function zips."
  value       = module.mlayer.artifact_bucket
}

output "sink" {
  description = "Where predictions are written."
  value       = module.mlayer.sink
}

output "kms_key_arn" {
  description = "The example's customer managed key."
  value       = aws_kms_key.this.arn
}
